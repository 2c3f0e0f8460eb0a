package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/cookiesession/cookiesession/redisstore"
	"github.com/cookiesession/cookiesession/store"
)

const revokeUsage = `usage: cookiesession revoke -redis host:port (-subject S | -provider-session SID | -id ID | -all) [flags]

Revokes sessions on every server of an application that shares its
revocation state through Redis (the redisstore module), for incident
response:
  -subject S   every session of subject S (Session.SetSubject) made
               before this revocation: "log out everywhere"; a new login
               still works
  -provider-session SID
               every session of the identity provider's session SID
               (the value given to Session.SetProviderSession: with
               the oidclogout module, oidclogout.ProviderSession(iss,
               sid), as 'cookiesession inspect' prints it) made before
               this revocation: what a back-channel logout does
  -id ID       the one session with this ID, as 'cookiesession inspect'
               prints it (22 characters of base64url)
  -all         every session of every user made before this revocation:
               a panic button that needs no key rotation
Give exactly one. "Before" is not a time: each revocation takes the next
number of the application's revocation sequence in Redis, and a session
is made before it when the server that made it had not yet applied it,
whatever the clocks say. The servers refuse the revoked sessions as soon
as Redis hands them the revocation (typically within milliseconds).

The revocation is kept until now + -max-lifetime + 1 minute (the clock
skew a Manager allows): past it, no session it concerns can open.
-max-lifetime must be the application's redisstore Options.MaxLifetime
(30 days unless it set one): a smaller value makes this write trim
revocations the application still needs; a larger one only keeps this
revocation longer than it is needed. The command checks it against the
revocations of subjects and of everything already in Redis, which the
application keeps for its MaxLifetime plus its clock skew: a
-max-lifetime more than 10 minutes shorter than the longest is refused
(exit status 2), and nothing is revoked. It prints what it assumed and
what it could check.

The password comes from the COOKIESESSION_REDIS_PASSWORD environment
variable, never from a flag (other users of the machine see a command
line); -redis-user names an ACL user. Nothing printed contains it.

Examples:
  cookiesession revoke -redis 10.0.0.5:6379 -subject user-1234
  cookiesession revoke -redis 10.0.0.5:6379 -id 1EddOx08dymBFm_fq7QgAQ
  COOKIESESSION_REDIS_PASSWORD=... cookiesession revoke -redis-tls -redis redis.internal:6380 -all

Exit status: 0 the revocation was recorded (Redis acknowledged it);
1 it may not have been recorded (Redis unreachable, refused the login or
the command, or did not answer in -redis-timeout): repeating the command
is safe; 2 bad flags or arguments.
`

func runRevoke(e *env, args []string) int {
	fs := newFlags("revoke", revokeUsage)
	var (
		rf          = addRedisFlags(fs, "the `address` (host:port) of the application's Redis or Valkey, or of any node of its Cluster (required)")
		subject     = fs.String("subject", "", "revoke every session of this `subject` made before this revocation")
		provider    = fs.String("provider-session", "", "revoke every session of this identity-provider session `SID` made before this revocation")
		id          = fs.String("id", "", "revoke the session with this `ID`, as inspect prints it")
		all         = fs.Bool("all", false, "revoke every session made before this revocation")
		maxLifetime = fs.Duration("max-lifetime", redisstore.DefaultMaxLifetime, "the application's redisstore Options.MaxLifetime: the longest a session lives")
	)
	args, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	cmd := fs.Name()
	if len(args) > 0 {
		return usageErr(e, cmd, "unexpected argument %q", args[0])
	}
	if *rf.addr == "" {
		return usageErr(e, cmd, "no -redis address")
	}
	n := 0
	for _, set := range []bool{isSet(fs, "subject"), isSet(fs, "provider-session"), isSet(fs, "id"), *all} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usageErr(e, cmd, "give exactly one of -subject, -provider-session, -id and -all")
	}
	switch {
	case isSet(fs, "subject") && (*subject == "" || len(*subject) > 255):
		return usageErr(e, cmd, "-subject of %d bytes: a subject has 1 to 255", len(*subject))
	case isSet(fs, "provider-session") && (*provider == "" || len(*provider) > 255):
		return usageErr(e, cmd, "-provider-session of %d bytes: a provider session has 1 to 255", len(*provider))
	case isSet(fs, "id"):
		if raw, err := base64.RawURLEncoding.Strict().DecodeString(*id); err != nil || len(raw) != 16 {
			return usageErr(e, cmd, "-id %q is not a session ID (22 characters of base64url, as inspect prints it)", *id)
		}
	}
	if *maxLifetime <= 0 {
		return usageErr(e, cmd, "-max-lifetime %v is not positive", *maxLifetime)
	}

	store, err := rf.open(*maxLifetime)
	if err != nil {
		return fail(e, exitNo, cmd, "nothing revoked: %s", err)
	}
	defer store.Close()
	// The revocations of subjects and of everything already in Redis,
	// loaded with the store, say how long the application keeps them: its
	// MaxLifetime plus its clock skew (or longer, when this command was
	// run with a longer -max-lifetime). A shorter -max-lifetime could let
	// this revocation lapse while sessions it must stop still open.
	seen := store.RevocationHorizon()
	if seen > *maxLifetime+lifetimeSlack {
		return fail(e, exitUsage, cmd, "nothing revoked: -max-lifetime %s is shorter than the application's lifetime: the revocations of subjects or of everything already on %s (the application's, or this command's) are kept for %s (a MaxLifetime plus a clock skew), so this one could lapse while sessions it must stop still open; pass -max-lifetime %s, the application's redisstore Options.MaxLifetime",
			fmtDur(*maxLifetime), *rf.addr, fmtDur(seen), (seen - time.Minute).Round(time.Hour))
	}
	now := time.Now()
	until := now.Add(*maxLifetime + time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), *rf.timeout)
	defer cancel()
	var did string
	switch {
	case *all:
		err = store.RevokeAll(ctx, until)
		did = "revoked every session"
	case *id != "":
		err = store.RevokeID(ctx, *id, until)
		did = fmt.Sprintf("revoked session %s", *id)
	case *provider != "":
		err = store.RevokeProviderSession(ctx, *provider, until)
		did = fmt.Sprintf("revoked every session of provider session %q", *provider)
	default:
		err = store.RevokeSubject(ctx, *subject, until)
		did = fmt.Sprintf("revoked every session of subject %q", *subject)
	}
	if err != nil {
		return fail(e, exitNo, cmd, "the revocation may not have been recorded (repeating the command is safe): %s", msg(err))
	}
	if *id == "" {
		// The revocation's generation, as this command's Store
		// applied it: the sessions that sealed a smaller one are
		// revoked.
		r, _ := store.Revocations(ctx, "", *subject, *provider)
		g := r.All
		if *subject != "" {
			g = r.Subject
		} else if *provider != "" {
			g = r.ProviderSession
		}
		did += fmt.Sprintf(" made before this revocation (generation %d)", g)
	}
	fmt.Fprintf(e.stdout, "%s, on %s; kept until %s\n", did, *rf.addr, fmtTime(until))
	if !isSet(fs, "max-lifetime") {
		fmt.Fprintf(e.stdout, "assumed -max-lifetime %s, the default (the application's redisstore Options.MaxLifetime)\n", fmtDur(*maxLifetime))
	}
	if seen > 0 {
		fmt.Fprintf(e.stdout, "the revocations of subjects or of everything already in Redis are kept for up to %s (a MaxLifetime plus a clock skew): -max-lifetime covers them\n", fmtDur(seen))
	} else {
		prefix := "-redis-prefix " + strconv.Quote(*rf.prefix)
		if !isSet(fs, "redis-prefix") {
			prefix = "the default " + prefix
		}
		fmt.Fprintf(e.stdout, "no revocation of a subject or of everything under %s shows the application's lifetime: -max-lifetime is unchecked\n", prefix)
	}
	return exitOK
}

// lifetimeSlack is how far past -max-lifetime the application's own
// revocations may be kept before revoke refuses: the clock skew its
// Managers add (1 minute by default; redisstore accepts up to 10).
const lifetimeSlack = 10 * time.Minute

// The Store must stay assignable to the core's Revoker, which is what the
// application's servers read.
var _ store.Revoker = (*redisstore.Store)(nil)
