package cookiesession_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// benchSession is the typed form of the session payloads in
// testdata/payloads: what an application using Manager[T] keeps. The
// sections that the smaller payloads lack are omitted when empty, so that
// each payload marshals to the same JSON object it was read from. Numbers
// use omitzero, not omitempty: go-json-experiment/json (like the proposed
// encoding/json/v2) omits only empty JSON values under omitempty and would
// write "tenant_id":0 where encoding/json writes nothing.
type benchSession struct {
	UID            int64             `json:"uid"`
	CSRF           string            `json:"csrf"`
	Exp            int64             `json:"exp"`
	Auth           bool              `json:"auth"`
	SID            string            `json:"sid,omitempty"`
	TenantID       int64             `json:"tenant_id,omitzero"`
	DeviceID       string            `json:"device_id,omitempty"`
	Profile        *benchProfile     `json:"profile,omitempty"`
	Roles          []string          `json:"roles,omitempty"`
	Permissions    []string          `json:"permissions,omitempty"`
	Locale         string            `json:"locale,omitempty"`
	Timezone       string            `json:"timezone,omitempty"`
	Currency       string            `json:"currency,omitempty"`
	Theme          string            `json:"theme,omitempty"`
	Flash          []benchFlash      `json:"flash,omitempty"`
	LastSeenIP     string            `json:"last_seen_ip,omitempty"`
	LoginMethod    string            `json:"login_method,omitempty"`
	RememberMe     *bool             `json:"remember_me,omitempty"`
	CartCount      int               `json:"cart_count,omitzero"`
	UAHash         string            `json:"ua_hash,omitempty"`
	Cart           *benchCart        `json:"cart,omitempty"`
	Preferences    *benchPrefs       `json:"preferences,omitempty"`
	OAuth          *benchOAuth       `json:"oauth,omitempty"`
	History        []benchVisit      `json:"history,omitempty"`
	RecentlyViewed []string          `json:"recently_viewed,omitempty"`
	ABTests        map[string]string `json:"ab_tests,omitempty"`
}

type benchProfile struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	AvatarURL   string `json:"avatar_url"`
	Verified    bool   `json:"verified"`
	MFAEnabled  bool   `json:"mfa_enabled"`
	CreatedAt   string `json:"created_at"`
}

type benchFlash struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
}

type benchCart struct {
	ID    string `json:"id"`
	Items []struct {
		SKU        string `json:"sku"`
		Name       string `json:"name"`
		Qty        int    `json:"qty"`
		PriceCents int64  `json:"price_cents"`
		Currency   string `json:"currency"`
		Gift       bool   `json:"gift"`
		AddedAt    int64  `json:"added_at"`
	} `json:"items"`
	Coupon   string `json:"coupon"`
	Shipping struct {
		Method   string `json:"method"`
		Country  string `json:"country"`
		Postcode string `json:"postcode"`
		EstDays  int    `json:"est_days"`
	} `json:"shipping"`
}

type benchPrefs struct {
	EmailMarketing bool `json:"email_marketing"`
	SMSAlerts      bool `json:"sms_alerts"`
	Push           struct {
		Orders     bool `json:"orders"`
		Promotions bool `json:"promotions"`
		PriceDrops bool `json:"price_drops"`
	} `json:"push"`
	PageSize      int    `json:"page_size"`
	Sort          string `json:"sort"`
	Units         string `json:"units"`
	Accessibility struct {
		ReduceMotion bool    `json:"reduce_motion"`
		HighContrast bool    `json:"high_contrast"`
		FontScale    float64 `json:"font_scale"`
	} `json:"accessibility"`
	SavedFilters []struct {
		Name string `json:"name"`
		Q    string `json:"q"`
	} `json:"saved_filters"`
}

type benchOAuth struct {
	Provider     string `json:"provider"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresAt    int64  `json:"expires_at"`
}

type benchVisit struct {
	Path    string `json:"path"`
	TS      int64  `json:"ts"`
	Ref     string `json:"ref"`
	DwellMS int64  `json:"dwell_ms"`
}

// loadTypedPayload returns the payload as a benchSession.
func loadTypedPayload(tb testing.TB, name string) (raw []byte, v *benchSession) {
	tb.Helper()
	raw, _ = loadPayload(tb, name)
	v = new(benchSession)
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatal(err)
	}
	return raw, v
}

// TestTypedPayloadsComplete checks that benchSession carries every field of
// every payload: marshaled again, it reads as the payload file does.
func TestTypedPayloadsComplete(t *testing.T) {
	for _, p := range benchPayloads {
		_, want := loadPayload(t, p)
		_, typed := loadTypedPayload(t, p)
		b, err := json.Marshal(typed)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: the typed session loses or adds fields (-file +typed):\n%s", p, d)
		}
		// The fast JSON writes and reads the struct as encoding/json does.
		fast, err := (fastJSON{}).Marshal(typed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast, b) {
			t.Errorf("%s: fast JSON writes the struct differently:\nencoding/json: %s\nfast:          %s", p, b, fast)
		}
		var back benchSession
		if err := (fastJSON{}).Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(typed, &back); d != "" {
			t.Errorf("%s: fast JSON reads the struct differently:\n%s", p, d)
		}
	}
}

// BenchmarkCodecTyped is BenchmarkCodec with the payloads decoded into
// benchSession, a struct, as Manager[T] holds them, instead of
// map[string]any.
func BenchmarkCodecTyped(b *testing.B) {
	for _, p := range benchPayloads {
		raw, value := loadTypedPayload(b, p)
		b.Run(p, func(b *testing.B) {
			for _, impl := range benchImpls(b) {
				b.Run(impl.name, func(b *testing.B) {
					runCodecBench(b, impl, raw, value, func() any { return new(benchSession) }, func(p any) any { return p })
				})
			}
		})
	}
}
