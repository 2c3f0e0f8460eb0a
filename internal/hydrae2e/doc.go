// Package hydrae2e tests OpenID Connect back-channel logout (the
// oidclogout module) end to end with a real OpenID Provider, Ory Hydra:
// the test builds Hydra from its module source with the go command, once
// (the executable is kept in the user's cache directory, under
// cookiesession-hydrae2e, named for Hydra's version; $HYDRA names another),
// starts it on loopback with an in-memory database, logs a user in to two
// application servers that share a real redis-server, logs them out at
// Hydra and sees the session refused.
//
// It is a module of its own, so that the go commands it runs and the
// provider it builds concern nobody else; Hydra's module graph never
// enters this one (Hydra is built as a main module of its own). Run it
// with the README's test command, which covers every module of the
// repository; -short skips it.
package hydrae2e
