module github.com/cookiesession/cookiesession/redisstore

go 1.25.0

require (
	github.com/cookiesession/cookiesession v0.1.0
	github.com/redis/rueidis v1.0.79
)

require (
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
