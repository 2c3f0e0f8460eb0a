package cookiesession

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// The attacks on device binding (issue 23; the dbsc module is the real
// Options.Binding): a bound session replayed without the device's proof,
// with another device's, on a server that cannot check it, and envelopes
// that lie about their binding. Here the proof is a cookie "proof" equal
// to the binding.

var errNoDeviceProof = errors.New("no device proof")

// withProofCheck is a Binding that accepts a request whose "proof" cookie
// equals the session's binding.
func withProofCheck(o *Options) {
	o.Binding = testkit.CheckBinding(func(r *http.Request, id string, binding []byte) error {
		if c, err := r.Cookie("proof"); err == nil && id != "" && c.Value == string(binding) {
			return nil
		}
		return errNoDeviceProof
	})
}

// boundSession logs in, binds the session to device "dev1" and returns
// its cookie line (without the proof).
func boundSession(e *hEnv) string {
	e.t.Helper()
	line := e.line(e.login(10))
	res := e.do("/bind?device=dev1", line+"; proof=dev1")
	if errs := e.takeErrs(); len(errs) > 0 {
		e.t.Fatalf("binding reported %v", errs)
	}
	return e.line(pieces(res.cookies, e.m.Name()))
}

// keepsCookies checks that a refusal left the session's cookies alone:
// the device that holds them opens them again with its proof.
func keepsCookies(t *testing.T, e *hEnv, res hResult) {
	for _, c := range res.cookies {
		t.Errorf("the refusal set %s (Max-Age %d)", c.Name, c.MaxAge)
	}
}

// forgedBinding is an envelope that claims a binding of n bytes and
// carries tail after its length.
func (e *hEnv) forgedBinding(n uint16, tail []byte) []string {
	data, _ := json.Marshal(hData{User: hSecret, N: 7})
	payload := e.forgedFrame(nil)
	binary.BigEndian.PutUint64(payload[24:32], envelopeBinding)
	payload = binary.BigEndian.AppendUint16(payload, n)
	payload = append(append(payload, tail...), data...)
	return e.forge(forgery{payload: payload})
}

func bindingCases() []hostileCase {
	return []hostileCase{
		{
			name: "binding/bound-session-with-the-device-proof-opens", opts: withProofCheck,
			setup: func(e *hEnv) []string { return []string{boundSession(e) + "; proof=dev1"} },
		},
		{
			name: "binding/bound-session-copied-without-the-device-proof", opts: withProofCheck, want: errNoDeviceProof, fresh: true,
			setup: func(e *hEnv) []string { return []string{boundSession(e)} },
			check: keepsCookies,
		},
		{
			name: "binding/bound-session-with-another-device-proof", opts: withProofCheck, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{boundSession(e) + "; proof=dev2"} },
			check: keepsCookies,
		},
		{
			name: "binding/bound-session-on-a-server-without-a-binding-check", want: errNoBindingCheck, fresh: true,
			setup: func(e *hEnv) []string {
				line := e.line(e.login(10))
				return []string{e.line(pieces(e.do("/bind?device=dev1", line).cookies, e.m.Name())) + "; proof=dev1"}
			},
			check: keepsCookies,
		},
		{
			name: "binding/envelope-binding-length-past-the-end", opts: withProofCheck, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forgedBinding(60000, []byte("dev1"))) + "; proof=dev1"}
			},
		},
		{
			name: "binding/envelope-binding-of-zero-bytes", opts: withProofCheck, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.forgedBinding(0, nil)) + "; proof="} },
		},
		{
			name: "binding/envelope-binding-over-the-limit", opts: withProofCheck, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forgedBinding(maxBindingLen+1, make([]byte, maxBindingLen+1)))}
			},
		},
	}
}
