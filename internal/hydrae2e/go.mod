module github.com/cookiesession/cookiesession/internal/hydrae2e

go 1.25.0

require (
	github.com/cookiesession/cookiesession v0.1.0
	github.com/cookiesession/cookiesession/oidclogout v0.1.0
	github.com/cookiesession/cookiesession/redisstore v0.1.0
	github.com/go-jose/go-jose/v4 v4.1.9
)

require (
	github.com/redis/rueidis v1.0.79 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
