package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"
)

// The variables of rotabot's own GitHub access as a GitHub App (SPEC §10): with
// GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY set, GITHUB_TOKEN is not needed, and
// the App wins when both are set.
const (
	envGitHubAppID           = "GITHUB_APP_ID"
	envGitHubAppKey          = "GITHUB_APP_PRIVATE_KEY"
	envGitHubAppInstallation = "GITHUB_APP_INSTALLATION_ID"
)

// GitHubApp reports whether rotabot writes to GitHub as a GitHub App: its id and
// private key are both set.
func (e Env) GitHubApp() bool { return e.GitHubAppID != 0 && e.GitHubAppPrivateKey != "" }

// HasGitHub reports whether rotabot can write to GitHub: with GITHUB_TOKEN, or
// as a GitHub App.
func (e Env) HasGitHub() bool { return e.GitHubToken != "" || e.GitHubApp() }

// readApp reads a GitHub App variable's raw value into e, or says what is wrong
// with it — never repeating a key.
func (v envVar) readApp(e *Env, raw string) string {
	if v.kind == keyValue {
		key, problem := appKey(raw)
		if problem != "" {
			return v.Name + " " + problem
		}
		*v.str(e) = key
		return ""
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	switch {
	case v.Name == envGitHubAppID && (strings.HasPrefix(raw, "Iv1.") || strings.HasPrefix(raw, "Iv2")):
		return fmt.Sprintf("%s holds the App's Client ID (%s…), not its App ID — %s", v.Name, raw[:min(4, len(raw))], v.hint)
	case err != nil:
		return fmt.Sprintf("%s=%s is not a number — %s", v.Name, showID(raw), v.hint)
	case n <= 0:
		return fmt.Sprintf("%s=%s is not a GitHub id — %s", v.Name, showID(raw), v.hint)
	}
	*v.num(e) = n
	return ""
}

// keyFix is how to set GITHUB_APP_PRIVATE_KEY right.
const keyFix = "paste the whole .pem file the App's settings page made (Private keys → Generate a private key), from -----BEGIN RSA PRIVATE KEY----- to -----END RSA PRIVATE KEY-----, or base64 -w0 of it"

// appKey reads a private key given as PEM (its line breaks kept, or written
// \n on one line, as some dashboards need), or as base64 of the PEM file, and
// returns the PEM. The problem never holds any of the value.
func appKey(raw string) (string, string) {
	text := raw
	if !strings.Contains(text, "-----BEGIN") {
		compact := strings.Join(strings.Fields(text), "")
		dec, err := base64.StdEncoding.DecodeString(compact)
		if err != nil {
			dec, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(compact, "="))
		}
		if err != nil || !strings.Contains(string(dec), "-----BEGIN") {
			return "", "is neither a PEM private key nor base64 of one — " + keyFix
		}
		text = string(dec)
	}
	if !strings.Contains(text, "\n") {
		text = strings.ReplaceAll(text, `\n`, "\n")
	}
	block, _ := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil {
		return "", "holds a PEM header but no PEM block (cut short, or its line breaks lost?) — " + keyFix
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return string(pem.EncodeToMemory(block)), ""
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "", "holds a PEM block (" + block.Type + ") that is no private key — " + keyFix
	}
	if _, ok := k.(*rsa.PrivateKey); !ok {
		return "", "holds a private key that is not RSA: GitHub Apps sign with RSA keys — " + keyFix
	}
	return string(pem.EncodeToMemory(block)), ""
}

// appProblems are the GitHub App variables given that make no sense together.
func appProblems(given map[string]bool) []string {
	var out []string
	switch {
	case given[envGitHubAppID] && !given[envGitHubAppKey]:
		out = append(out, envGitHubAppID+" is set but "+envGitHubAppKey+" is not — set both to write to GitHub as the App (its settings → Private keys), or neither to use GITHUB_TOKEN")
	case given[envGitHubAppKey] && !given[envGitHubAppID]:
		out = append(out, envGitHubAppKey+" is set but "+envGitHubAppID+" is not — set the App ID too (the number on the App's settings page), or neither to use GITHUB_TOKEN")
	}
	if given[envGitHubAppInstallation] && !given[envGitHubAppID] {
		out = append(out, envGitHubAppInstallation+" is set but "+envGitHubAppID+" is not — set "+envGitHubAppID+" and "+envGitHubAppKey+" to write to GitHub as the App, or unset it")
	}
	return out
}

// showID quotes a value given for an id, unless it may be a credential pasted
// into the wrong variable (a token, a key): an id is a few digits, so anything
// long is only counted, never shown.
func showID(raw string) string {
	if len(raw) > 20 {
		return fmt.Sprintf("(a value of %d characters)", len(raw))
	}
	return show(raw)
}
