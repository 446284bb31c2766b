package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
)

// testAppKey is an RSA key as GitHub hands it out (PKCS#1 PEM), and the same
// key as PKCS#8.
func testAppKey(t *testing.T) (pkcs1, pkcs8 string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// keyLines are the key's body lines, for the leak check.
func keyLines(key string) []string {
	var out []string
	for _, l := range strings.Split(key, "\n") {
		if len(l) > 12 && !strings.HasPrefix(l, "-----") {
			out = append(out, l[:12])
		}
	}
	return out
}

// The private key is read however a dashboard lets it be pasted: the PEM file,
// its line breaks written \n on one line, base64 of it (wrapped or not), or
// PKCS#8; whichever way, the App's variables are read and GITHUB_TOKEN is no
// longer required.
func TestGitHubAppVariablesRead(t *testing.T) {
	pkcs1, pkcs8 := testAppKey(t)
	b64 := base64.StdEncoding.EncodeToString([]byte(pkcs1))
	for name, value := range map[string]string{
		"the PEM file":             pkcs1,
		"PEM on one line with \\n": strings.ReplaceAll(pkcs1, "\n", `\n`),
		"base64 of the file":       b64,
		"base64 wrapped":           b64[:64] + "\n" + b64[64:],
		"PKCS#8":                   pkcs8,
		"with spaces around":       "\n  " + pkcs1 + "  \n",
	} {
		t.Run(name, func(t *testing.T) {
			e, probs := LoadEnv(envOf(map[string]string{"GITHUB_APP_ID": "123456", "GITHUB_APP_PRIVATE_KEY": value, "GITHUB_APP_INSTALLATION_ID": " 987654 "}))
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			if !e.GitHubApp() || e.GitHubAppID != 123456 || e.GitHubAppInstallationID != 987654 || !strings.HasPrefix(e.GitHubAppPrivateKey, "-----BEGIN ") {
				t.Errorf("read %d %d app=%v", e.GitHubAppID, e.GitHubAppInstallationID, e.GitHubApp())
			}
			m := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{"A": {Consumers: rotation.Consumers{GitHubSecrets: []string{"raxx-app/TradeMasterAPI"}}}}}
			for _, p := range e.Require(m, false) {
				if strings.HasPrefix(p, "GITHUB_TOKEN") {
					t.Errorf("with the App set, GITHUB_TOKEN is still required: %s", p)
				}
			}
		})
	}
}

// Each way the App's variables can be wrong is one line naming the variable
// and the fix, never repeating any of the key.
func TestGitHubAppVariableProblems(t *testing.T) {
	pkcs1, _ := testAppKey(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ec := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	lines := strings.Split(strings.TrimSpace(pkcs1), "\n")
	cut := strings.Join(lines[:len(lines)/2], "\n")
	const fix = "paste the whole .pem file the App's settings page made (Private keys → Generate a private key), from -----BEGIN RSA PRIVATE KEY----- to -----END RSA PRIVATE KEY-----, or base64 -w0 of it"
	idHint := "use the App ID from the App's settings page (General → About), a number like 123456"
	for _, c := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"an id that is not a number", map[string]string{"GITHUB_APP_ID": "rotabot", "GITHUB_APP_PRIVATE_KEY": pkcs1},
			[]string{`GITHUB_APP_ID="rotabot" is not a number — ` + idHint}},
		{"the Client ID for the App ID", map[string]string{"GITHUB_APP_ID": "Iv1.8a61f9b3a7aba766", "GITHUB_APP_PRIVATE_KEY": pkcs1},
			[]string{`GITHUB_APP_ID holds the App's Client ID (Iv1.…), not its App ID — ` + idHint}},
		{"a token pasted for the id is not shown", map[string]string{"GITHUB_APP_ID": "ghs_16C7e42F292c6912E7710c838347Ae178B4a", "GITHUB_APP_PRIVATE_KEY": pkcs1},
			[]string{`GITHUB_APP_ID=(a value of 40 characters) is not a number — ` + idHint}},
		{"a short Client ID prefix", map[string]string{"GITHUB_APP_ID": "Iv2", "GITHUB_APP_PRIVATE_KEY": pkcs1},
			[]string{`GITHUB_APP_ID holds the App's Client ID (Iv2…), not its App ID — ` + idHint}},
		{"a negative id", map[string]string{"GITHUB_APP_ID": "-4", "GITHUB_APP_PRIVATE_KEY": pkcs1},
			[]string{`GITHUB_APP_ID="-4" is not a GitHub id — ` + idHint}},
		{"an installation id that is not a number", map[string]string{"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": pkcs1, "GITHUB_APP_INSTALLATION_ID": "raxx-app"},
			[]string{`GITHUB_APP_INSTALLATION_ID="raxx-app" is not a number — use the number at the end of the installation's settings URL (…/settings/installations/12345678), or unset it to find the installation from the routing matrix's organisation`}},
		{"a key that is no key", map[string]string{"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": "SHA256:Jq1c0ffee+not/a/key"},
			[]string{"GITHUB_APP_PRIVATE_KEY is neither a PEM private key nor base64 of one — " + fix}},
		{"a key cut short", map[string]string{"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": cut},
			[]string{"GITHUB_APP_PRIVATE_KEY holds a PEM header but no PEM block (cut short, or its line breaks lost?) — " + fix}},
		{"a public key", map[string]string{"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"},
			[]string{"GITHUB_APP_PRIVATE_KEY holds a PEM block (PUBLIC KEY) that is no private key — " + fix}},
		{"an EC key", map[string]string{"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": ec},
			[]string{"GITHUB_APP_PRIVATE_KEY holds a private key that is not RSA: GitHub Apps sign with RSA keys — " + fix}},
		{"the id without the key", map[string]string{"GITHUB_APP_ID": "1"},
			[]string{"GITHUB_APP_ID is set but GITHUB_APP_PRIVATE_KEY is not — set both to write to GitHub as the App (its settings → Private keys), or neither to use GITHUB_TOKEN"}},
		{"the key without the id", map[string]string{"GITHUB_APP_PRIVATE_KEY": pkcs1},
			[]string{"GITHUB_APP_PRIVATE_KEY is set but GITHUB_APP_ID is not — set the App ID too (the number on the App's settings page), or neither to use GITHUB_TOKEN"}},
		{"an installation without an App", map[string]string{"GITHUB_APP_INSTALLATION_ID": "5"},
			[]string{"GITHUB_APP_INSTALLATION_ID is set but GITHUB_APP_ID is not — set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY to write to GitHub as the App, or unset it"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, probs := LoadEnv(envOf(c.env))
			if !slices.Equal(probs, c.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(probs, "\n"), strings.Join(c.want, "\n"))
			}
			if e.GitHubApp() && c.env["GITHUB_APP_INSTALLATION_ID"] == "" {
				t.Error("a wrong App id or key counts as an App")
			}
			all := strings.Join(probs, "\n")
			for _, l := range append(keyLines(pkcs1), keyLines(ec)...) {
				if strings.Contains(all, l) {
					t.Fatal("a problem repeats part of the key")
				}
			}
		})
	}
}
