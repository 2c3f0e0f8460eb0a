module github.com/cookiesession/cookiesession/oidclogout

go 1.25.0

require (
	github.com/cookiesession/cookiesession v0.0.0-00010101000000-000000000000
	github.com/go-jose/go-jose/v4 v4.1.9
)

require (
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

// The modules of this repository are used from the working tree.
replace github.com/cookiesession/cookiesession => ..
