package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession/inspect"
)

// assumed records which of inspect's settings were not given, so that the
// output says what it assumed instead of falling back silently.
type assumed struct {
	name, maxAge, idle bool              // the flag was not given
	values             map[string]string // flag name → the value assumed
}

// assumedOrder is the order in which assumed flags are printed.
var assumedOrder = []string{"name", "max-age", "idle-timeout"}

// assumedSettings returns what inspect assumes for the flags of fs not
// given, with name and maxAge the values in force.
func assumedSettings(fs *flag.FlagSet, name string, maxAge time.Duration) assumed {
	a := assumed{
		name:   !isSet(fs, "name"),
		maxAge: !isSet(fs, "max-age"),
		idle:   !isSet(fs, "idle-timeout"),
		values: map[string]string{},
	}
	if a.name {
		a.values["name"] = strconv.Quote(name)
	}
	if a.maxAge {
		a.values["max-age"] = fmtDur(maxAge)
	}
	if a.idle {
		a.values["idle-timeout"] = "none"
	}
	return a
}

// defaultNameIn is the cookie name inspect assumes without -name: the
// name a Manager takes by default, "__Host-session" when the options
// allow that prefix (the defaults) and "session" otherwise, whichever the
// input carries ("session" when it carries neither).
func defaultNameIn(text string) string {
	host, plain := false, false
	for _, p := range parseCookieInput(text, inspect.DefaultName) {
		host = host || p.name == inspect.DefaultHostName
		plain = plain || p.name == inspect.DefaultName
	}
	if host && !plain {
		return inspect.DefaultHostName
	}
	return inspect.DefaultName
}

// longerHint ends a sentence saying that the application's deadlines are
// later than the ones inspect computed: which flags to pass.
func (a assumed) longerHint() string {
	var flags []string
	if a.maxAge {
		flags = append(flags, "-max-age (assumed "+a.values["max-age"]+", the default)")
	} else {
		flags = append(flags, "-max-age")
	}
	if !a.idle {
		flags = append(flags, "-idle-timeout")
	}
	return "settings are longer than those given: pass its " + strings.Join(flags, " and ")
}

// assume records in r the settings inspect assumed and, when the cookie's
// sealed expiry contradicts the deadlines they give, a note saying so.
// The sealed expiry is the earlier of the deadlines of the application
// that sealed the cookie, as it was at that seal.
func (r *inspectReport) assume(a assumed) {
	if len(a.values) > 0 {
		r.Assumed = a.values
	}
	if !r.Opened || r.Created.IsZero() {
		return
	}
	computed := r.AbsoluteDeadline
	if r.IdleDeadline != nil && r.IdleDeadline.Before(computed) {
		computed = *r.IdleDeadline
	}
	const slack = time.Second // the sealed times are in milliseconds
	switch {
	case r.Expires.Before(computed.Add(-slack)):
		r.Note = fmt.Sprintf("the cookie's sealed expiry is %s after the session's creation, earlier than the deadlines -max-age and -idle-timeout give: the application has a shorter MaxAge (at most %s) or an IdleTimeout; pass them for exact deadlines",
			fmtDur(r.Expires.Sub(r.Created)), fmtDur(r.Expires.Sub(r.Created)))
	case r.Expires.After(computed.Add(slack)):
		r.Note = fmt.Sprintf("the cookie's sealed expiry is later than the deadlines -max-age and -idle-timeout give: the application's %s", a.longerHint())
	}
}
