package slackq

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Slack answers chat.postMessage and chat.update with the whole message it
// stored, its blocks included, and slack-go decodes that echo block by block
// into its own types — for a run card, more machine time than drawing the card
// and sending it. Nothing in rotabot reads the echo (a caller gets the channel,
// the ts and the text), so WithoutEcho drops it from the answer before slack-go
// reads it.

// echoMax is the largest answer trimmed; a larger one passes as it came.
const echoMax = 1 << 20

// WithoutEcho wraps next (nil: http.DefaultTransport) so that a successful
// answer to chat.postMessage or chat.update reaches its reader without its
// "message" field; every other answer, and every request, passes unchanged.
func WithoutEcho(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return withoutEcho{next: next}
}

type withoutEcho struct{ next http.RoundTripper }

func (t withoutEcho) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || !echoes(req.URL.Path) {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, echoMax+1))
	resp.Body.Close()
	if rerr != nil {
		// The reader sees what came, then the error: a failed read, never a
		// failed request (which slack-go would send again).
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var fields map[string]json.RawMessage
	if len(body) > echoMax || json.Unmarshal(body, &fields) != nil || fields["message"] == nil {
		return resp, nil
	}
	delete(fields, "message")
	trimmed, merr := json.Marshal(fields)
	if merr != nil {
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(trimmed))
	resp.ContentLength = int64(len(trimmed))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// echoes reports whether the method at path answers with the message.
func echoes(path string) bool {
	return strings.HasSuffix(path, "/chat.postMessage") || strings.HasSuffix(path, "/chat.update")
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
