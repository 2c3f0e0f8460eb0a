module github.com/cookiesession/cookiesession/examples

go 1.25.0

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/coder/websocket v1.8.15
	github.com/cookiesession/cookiesession v0.1.0
	github.com/cookiesession/cookiesession/dbsc v0.1.0
	github.com/cookiesession/cookiesession/internal/browsertest v0.1.0
	github.com/cookiesession/cookiesession/oidclogout v0.1.0
	github.com/go-jose/go-jose/v4 v4.1.9
)

require github.com/redis/rueidis v1.0.79 // indirect

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/cookiesession/cookiesession/redisstore v0.1.0
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
