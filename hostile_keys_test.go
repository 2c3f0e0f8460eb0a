package cookiesession

import "github.com/cookiesession/cookiesession/internal/testkit"

func keysCases() []hostileCase {
	var cases []hostileCase
	add := func(c ...hostileCase) { cases = append(cases, c...) }

	// Keys.
	add(
		hostileCase{
			name: "keys/old-key-accepted-and-resealed-with-primary",
			opts: func(o *Options) { o.Keys = [][]byte{testkit.Key(2), testkit.Key(1)} },
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(1)} }), 10))}
			},
			check: expectResealedWithPrimary,
		},
		hostileCase{
			name: "keys/removed-key-rejected", want: ErrUnknownKey, fresh: true,
			opts: func(o *Options) { o.Keys = [][]byte{testkit.Key(2)} },
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(1)} }), 10))}
			},
			check: expectOpens(0),
		},
		hostileCase{
			name: "keys/same-key-id-different-key-bytes", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				// A codec whose key claims the ring key's id.
				impostor, err := newCodec(CodecOptions{SealOptions: SealOptions{Now: e.clock.Now}}, testkit.Key(50))
				if err != nil {
					e.t.Fatal(err)
				}
				impostor.ring().keys[0].id = e.m.cc.codec.keyIDs()[0]
				return []string{e.line(e.forge(forgery{codec: impostor}))}
			},
			check: expectOpens(1), // one attempt with the named key, no trial of others
		},
	)
	return cases
}
