// Package testpayload gives the tests and benchmarks of every package in
// the module the realistic session payloads of testdata/payloads: as raw
// JSON, and as the typed struct an application using Manager[T] declares.
package testpayload

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Names are the payloads, by size: about 100 B, 1 KB, 4 KB and 16 KB.
var Names = []string{"100b", "1kb", "4kb", "16kb"}

// Read returns testdata/payloads/<name>.json, wherever the calling test
// runs. A missing file fails tb.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("testpayload: cannot locate the module")
	}
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "testdata", "payloads", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// Session is the typed form of the session payloads in
// testdata/payloads: what an application using Manager[T] keeps. The
// sections that the smaller payloads lack are omitted when empty, so that
// each payload marshals to the same JSON object it was read from. Numbers
// use omitzero, not omitempty: go-json-experiment/json (like the proposed
// encoding/json/v2) omits only empty JSON values under omitempty and would
// write "tenant_id":0 where encoding/json writes nothing.
type Session struct {
	UID            int64             `json:"uid"`
	CSRF           string            `json:"csrf"`
	Exp            int64             `json:"exp"`
	Auth           bool              `json:"auth"`
	SID            string            `json:"sid,omitempty"`
	TenantID       int64             `json:"tenant_id,omitzero"`
	DeviceID       string            `json:"device_id,omitempty"`
	Profile        *Profile          `json:"profile,omitempty"`
	Roles          []string          `json:"roles,omitempty"`
	Permissions    []string          `json:"permissions,omitempty"`
	Locale         string            `json:"locale,omitempty"`
	Timezone       string            `json:"timezone,omitempty"`
	Currency       string            `json:"currency,omitempty"`
	Theme          string            `json:"theme,omitempty"`
	Flash          []Flash           `json:"flash,omitempty"`
	LastSeenIP     string            `json:"last_seen_ip,omitempty"`
	LoginMethod    string            `json:"login_method,omitempty"`
	RememberMe     *bool             `json:"remember_me,omitempty"`
	CartCount      int               `json:"cart_count,omitzero"`
	UAHash         string            `json:"ua_hash,omitempty"`
	Cart           *Cart             `json:"cart,omitempty"`
	Preferences    *Prefs            `json:"preferences,omitempty"`
	OAuth          *OAuth            `json:"oauth,omitempty"`
	History        []Visit           `json:"history,omitempty"`
	RecentlyViewed []string          `json:"recently_viewed,omitempty"`
	ABTests        map[string]string `json:"ab_tests,omitempty"`
}

// Profile is the user profile of the 1 KB and larger payloads.
type Profile struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	AvatarURL   string `json:"avatar_url"`
	Verified    bool   `json:"verified"`
	MFAEnabled  bool   `json:"mfa_enabled"`
	CreatedAt   string `json:"created_at"`
}

// Flash is a flash message.
type Flash struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
}

// Cart is the shopping cart of the 4 KB and larger payloads.
type Cart struct {
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

// Prefs are the preferences of the 4 KB and larger payloads.
type Prefs struct {
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

// OAuth holds the tokens of the 16 KB payload.
type OAuth struct {
	Provider     string `json:"provider"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresAt    int64  `json:"expires_at"`
}

// Visit is one entry of the 16 KB payload's history.
type Visit struct {
	Path    string `json:"path"`
	TS      int64  `json:"ts"`
	Ref     string `json:"ref"`
	DwellMS int64  `json:"dwell_ms"`
}
