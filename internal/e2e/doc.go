// Package e2e holds the tests that need more than the standard library and
// the core's own test peers: a real headless Chromium (chromedp), a real
// WebSocket client and server (coder/websocket), gorilla/sessions
// frameworks such as echo, the benchmarks against gorilla/sessions, and
// an OpenID Connect back-channel logout (oidclogout) on a fleet of
// servers sharing a real redis-server.
//
// It is a module of its own, so that none of these ever enter the module
// graph or the go.sum of an application that imports
// github.com/cookiesession/cookiesession. The tests use only the exported
// API, as an application would. Run them with the README's test command,
// which covers every module of the repository.
package e2e
