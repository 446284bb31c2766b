package mask_test

import (
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/mask"
)

// leaked returns the first stretch of secret (8 characters, or the whole of a
// shorter one, in any letter case) that s still holds, or "".
func leaked(s, secret string) string {
	low, sec := strings.ToLower(s), strings.ToLower(secret)
	if len(sec) < 8 {
		if strings.Contains(low, sec) {
			return secret
		}
		return ""
	}
	for i := 0; i+8 <= len(sec); i++ {
		if strings.Contains(low, sec[i:i+8]) {
			return secret[i : i+8]
		}
	}
	return ""
}

// Log lines in the shapes real apps write when GitHub refuses a token: after
// masking, none of the credentials in them survives, whole or in part, and what
// the on-call engineer reads the line for (the status, "Bad credentials", the
// path, the error class, the names of the fields) is still there.
func TestMaskTokensRealLogLines(t *testing.T) {
	for _, c := range []struct {
		name    string
		line    string
		secrets []string
		keep    []string
	}{
		{"shell env dump", `boot env: DB_PASSWORD=hunter2hunter2 RAILS_ENV=production; github 401 Bad credentials`,
			[]string{"hunter2hunter2"}, []string{"DB_PASSWORD=", "RAILS_ENV=production", "github 401 Bad credentials"}},
		{"rails octokit", `Octokit::Unauthorized (GET https://api.github.com/user: 401 - Bad credentials // See: https://docs.github.com/rest):`,
			nil, []string{`Octokit::Unauthorized (GET https://api.github.com/user: 401 - Bad credentials // See: https://docs.github.com/rest):`}},
		{"rails parameters", `Parameters: {"installation"=>{"access_token"=>"ghs_16C7e42F292c6912E7710c838347Ae178B4a"}, "filtered"=>"[FILTERED]", "status"=>"401"} Bad credentials`,
			[]string{"ghs_16C7e42F292c6912E7710c838347Ae178B4a"[4:]}, []string{`"access_token"=>"ghs_`, `"filtered"=>"[FILTERED]"`, `"status"=>"401"`, "Bad credentials"}},
		{"rails session cookie", `Completed 401 Unauthorized in 12ms (Cookie: _raxx_console_session=QmFkIGNyZWRzIGJ1dCBhIHNlc3Npb24; theme=dark) github Bad credentials`,
			[]string{"QmFkIGNyZWRzIGJ1dCBhIHNlc3Npb24"}, []string{"Completed 401 Unauthorized in 12ms", "theme=dark", "Bad credentials"}},
		{"git over https with a password", `fatal: Authentication failed for 'https://oauth2:S3cretPassw0rd@github.com/raxx-app/TradeMasterAPI.git/' (401 Bad credentials)`,
			[]string{"S3cretPassw0rd"}, []string{"https://oauth2:", "@github.com/raxx-app/TradeMasterAPI.git/", "(401 Bad credentials)"}},
		{"node octokit request error", `RequestError [HttpError]: Bad credentials { status: 401, request: { method: 'GET', url: 'https://api.github.com/user', headers: { authorization: 'token ghp_R4nd0mT0k3nV4lu3abcdefghijklmnopqrstu' } } }`,
			[]string{"R4nd0mT0k3nV4lu3abcdefghijklmnopqrstu"}, []string{"RequestError [HttpError]: Bad credentials", "status: 401", "url: 'https://api.github.com/user'", "authorization: 'token "}},
		{"node env and an opaque value without a digit", `Error: GitHub 401 Bad credentials at fetchBuilds (/app/src/github.js:42:11) GITHUB_TOKEN=zQxWvYtRpLmNkJhGfDsAzQxWpLmN`,
			[]string{"zQxWvYtRpLmNkJhGfDsAzQxWpLmN"}, []string{"Error: GitHub 401 Bad credentials at fetchBuilds (/app/src/github.js:42:11)", "GITHUB_TOKEN="}},
		{"node pino json", `{"level":50,"time":1764443117123,"pid":7,"hostname":"web.1","msg":"github request failed: 401 Bad credentials","req":{"headers":{"authorization":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyYXh4In0.c2lnbmF0dXJlc2lnbmF0dXJl"}}}`,
			[]string{"eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiJyYXh4In0", "c2lnbmF0dXJlc2lnbmF0dXJl"}, []string{`"msg":"github request failed: 401 Bad credentials"`, `"authorization":"Bearer `, `"hostname":"web.1"`}},
		{"python logging, a password of letters only", `ERROR:app.github:GitHub API returned 401: Bad credentials (password=correcthorsebatterystaple)`,
			[]string{"correcthorsebatterystaple"}, []string{"ERROR:app.github:GitHub API returned 401: Bad credentials (password="}},
		{"python pygithub", `github.GithubException.BadCredentialsException: 401 {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}`,
			nil, []string{`github.GithubException.BadCredentialsException: 401 {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}`}},
		{"python requests, a token as the URL's password", `requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://x-access-token:AbCdEf0123456789AbCdEf0123456789AbCd@api.github.com/installation/repositories`,
			[]string{"AbCdEf0123456789AbCdEf0123456789AbCd"}, []string{"401 Client Error: Unauthorized for url: https://x-access-token:", "@api.github.com/installation/repositories"}},
		{"python dict repr", `github auth failed 401: {'Authorization': 'token 0123456789abcdef0123456789abcdef01234567', 'User-Agent': 'raxx-console'}`,
			[]string{"0123456789abcdef0123456789abcdef01234567"}, []string{"github auth failed 401: {'Authorization': 'token ", "'User-Agent': 'raxx-console'"}},
		{"python yaml settings", `github: 401 Bad credentials; settings api_key: Sup3rS3cr3tK3y!`,
			[]string{"Sup3rS3cr3tK3y!"}, []string{"github: 401 Bad credentials; settings api_key: "}},
		{"go slog text", `time=2026-11-29T19:05:17.123Z level=ERROR msg="github: GET https://api.github.com/user: 401 Bad credentials []" token=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ`,
			[]string{"11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"}, []string{`level=ERROR msg="github: GET https://api.github.com/user: 401 Bad credentials []" token=github_pat_`}},
		{"go %+v of a struct", `sync failed: GET https://api.github.com/user: 401 Bad credentials, cfg={Owner:raxx-app Password:Tr0ub4dor&3 ClientSecret:hunter2hunter2}`,
			[]string{"Tr0ub4dor&3", "hunter2hunter2"}, []string{"401 Bad credentials", "Owner:raxx-app", "Password:", "ClientSecret:"}},
		{"go slog json", `{"time":"2026-11-29T19:05:17Z","level":"ERROR","msg":"github 401","error":"Bad credentials","client_secret":"s3cr3t-v4lue-with-dashes","retry":false}`,
			[]string{"s3cr3t-v4lue-with-dashes"}, []string{`"msg":"github 401","error":"Bad credentials","client_secret":"`, `"retry":false`}},
		{"heroku router", `at=info method=GET path="/api/github/hook?token=abc123def456ghi789&page=2" host=raxx-console.herokuapp.com request_id=8601b555-6a22-4e6c-a4bd-a8e4f8f5e2a5 fwd="203.0.113.5" dyno=web.1 connect=0ms service=38ms status=401 bytes=180 protocol=https`,
			[]string{"abc123def456ghi789"}, []string{`path="/api/github/hook?token=`, "&page=2", "host=raxx-console.herokuapp.com", "dyno=web.1", "status=401"}},
		{"a Heroku API key in a shell line", `+ export HEROKU_API_KEY=01234567-89ab-cdef-0123-456789abcdef && curl -fsS https://api.github.com/user -> 401 Bad credentials`,
			[]string{"01234567-89ab-cdef-0123-456789abcdef"}, []string{"export HEROKU_API_KEY=", "curl -fsS https://api.github.com/user -> 401 Bad credentials"}},
		{"a database URL", `boot: DATABASE_URL=postgres://raxx:pgP4ssw0rdXyZ@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8f; github 401 Bad credentials`,
			[]string{"pgP4ssw0rdXyZ"}, []string{"DATABASE_URL=postgres://raxx:", "@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8f", "github 401 Bad credentials"}},
		{"a redis URL with a password only", `Redis::CommandError: WRONGPASS invalid username-password pair (redis://:r3d1sP4ss@redis-host:6379/0) after GitHub 401`,
			[]string{"r3d1sP4ss"}, []string{"Redis::CommandError: WRONGPASS invalid username-password pair (redis://:", "@redis-host:6379/0) after GitHub 401"}},
		{"a slack token", `slack notify failed (token xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx) after GitHub said 401 Bad credentials`,
			[]string{"1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"}, []string{"slack notify failed (token xoxb-", "after GitHub said 401 Bad credentials"}},
		{"basic auth", `GitHub 401 Bad credentials; sent Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hwX3NlY3JldA==`,
			[]string{"eC1hY2Nlc3MtdG9rZW46Z2hwX3NlY3JldA"}, []string{"GitHub 401 Bad credentials; sent Authorization: Basic "}},
		{"an opaque client id of letters only", `Bad credentials: GitHub refused client QxWvYtRpLmNkJhGfDsAzQxWvYtRp (401)`,
			[]string{"QxWvYtRpLmNkJhGfDsAzQxWvYtRp"}, []string{"Bad credentials: GitHub refused client ", "(401)"}},
		{"a yaml dump in flow style", `config: {github: {password: "pl41n-text!"}} -> 401 Bad credentials`,
			[]string{"pl41n-text!"}, []string{"config: {github: {password: ", "-> 401 Bad credentials"}},
		{"a command line flag", `git-credential --password s3cr3tpw --user bot: Requires authentication (401)`,
			[]string{"s3cr3tpw"}, []string{"git-credential --password ", "--user bot: Requires authentication (401)"}},
		{"prose that names a token but holds none", `invalid token: Bad credentials — the token expired for user 42 (UnhandledPromiseRejectionWarning at /app/node_modules/@octokit/request/dist-node/index.js)`,
			nil, []string{`invalid token: Bad credentials — the token expired for user 42 (UnhandledPromiseRejectionWarning at /app/node_modules/@octokit/request/dist-node/index.js)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := mask.Tokens(c.line)
			t.Log(got)
			for _, s := range c.secrets {
				if l := leaked(got, s); l != "" {
					t.Errorf("%q survives in %q", l, got)
				}
			}
			for _, k := range c.keep {
				if !strings.Contains(got, k) {
					t.Errorf("%q is gone from %q", k, got)
				}
			}
			if len(c.secrets) > 0 && !strings.Contains(got, "[masked]") {
				t.Errorf("nothing marked as masked in %q", got)
			}
		})
	}
}

// The run's own values are masked wherever any 8 characters of them stand, in
// shapes no pattern knows (a piece of a token, in another letter case); a line
// that holds none of them is masked as Tokens would.
func TestMaskerMasksTheKnownValues(t *testing.T) {
	const oldVal = "github_pat_11AAAAQ7ZxKpLmN_kf83hdnw0q2mzbxv8r1tyu4io5pa6sd7fg9hj"
	const newVal = "ghp_Zq81mXv3Lp0sKd7YwR2tNc5Hb9Fg4Ju6Ae1I"
	m := mask.New(rotation.NewSecret(oldVal), rotation.NewSecret(newVal))
	for _, line := range []string{
		"GitHub 401 Bad credentials with key ending " + newVal[len(newVal)-12:] + ", previous started " + oldVal[11:21],
		"GitHub 401 Bad credentials for " + strings.ToUpper(newVal[4:20]) + " (upper-cased by the app)",
		"Bad credentials: " + oldVal + " / " + newVal,
		"Requires authentication: sent x" + oldVal[20:29] + "x",
	} {
		got, ok := m.Mask(line)
		if !ok {
			t.Fatalf("Mask(%q) refused the line", line)
		}
		for _, s := range []string{oldVal[11:], newVal[4:]} {
			if l := leaked(got, s); l != "" {
				t.Errorf("%q survives in %q", l, got)
			}
		}
		if !strings.Contains(got, "[masked]") || !strings.Contains(got, "Bad credentials") && !strings.Contains(got, "Requires authentication") {
			t.Errorf("Mask(%q) = %q", line, got)
		}
	}
	if got, _ := m.Mask("GitHub 401 Bad credentials"); got != "GitHub 401 Bad credentials" {
		t.Errorf("a line without a value changed: %q", got)
	}
	// The known prefix stays: it says which kind of token was refused.
	if got, _ := m.Mask("token " + newVal + " refused"); got != "token ghp_[masked] refused" {
		t.Errorf("the whole new value: %q", got)
	}
	// A value that the masking itself would spell out cannot be cleared from
	// the line: the line is refused rather than shown.
	odd := mask.New(rotation.NewSecret("[masked]"))
	if got, ok := odd.Mask("password=hunter2hunter2 Bad credentials"); ok || got != "" {
		t.Errorf("a line that still holds a known value was not refused: %q %v", got, ok)
	}
}

func TestMaskTokens(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"token github_pat_11ABCDEFG0123456789_abcdefghijklmnop rejected", "token github_pat_[masked] rejected"},
		{"using ghp_0123456789abcdefABCDEF0123456789abcd: 401", "using ghp_[masked]: 401"},
		{`Authorization: Bearer abcdef0123456789xyz`, `Authorization: Bearer [masked]`},
		{"token expired for user 42", "token expired for user 42"},
		{"password=hunter22secret&x=1", "password=[masked]&x=1"},
		{"blob 3q2+7w8JxZ0aB1cD2eF3gH4iJ5kL6mN7oP8= end", "blob [masked] end"},
		{"GitHub said 401 Bad credentials", "GitHub said 401 Bad credentials"},
		{"DB_PASSWORD=hunter2hunter2", "DB_PASSWORD=[masked]"},
		{"https://oauth2:S3cret@github.com/raxx-app/x.git", "https://oauth2:[masked]@github.com/raxx-app/x.git"},
		{`{"api_key": "abc", "name": "x"}`, `{"api_key": "[masked]", "name": "x"}`},
		{"sent SECRET_KEY_BASE='not so secret'", "sent SECRET_KEY_BASE='[masked]'"},
		{"------------------------ Bad credentials", "------------------------ Bad credentials"},
	} {
		if got := mask.Tokens(c.in); got != c.want {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
