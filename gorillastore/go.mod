module github.com/cookiesession/cookiesession/gorillastore

go 1.25.0

require (
	github.com/cookiesession/cookiesession v0.1.0
	github.com/google/go-cmp v0.7.0
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
)

require (
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
