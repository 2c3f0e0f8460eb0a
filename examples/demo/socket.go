package main

import (
	"context"
	_ "embed"
	"errors"
	"html/template"
	"log"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/cookiesession/cookiesession"
)

// The WebSocket page: a counter kept in the session, changed over a
// WebSocket. The socket's handler reads the session of its upgrade request,
// changes it, and sends the page a commit token; the page posts the token
// to the commit handler, which sets the cookies. A reload shows the value,
// read from the cookies by an ordinary HTTP request. The socket watches its
// session (Manager.Watch) and is closed as soon as the session is revoked
// (sign-out or "log out everywhere" in another tab) or expires.
const (
	socketWS     = socketPage + "/ws"        // the WebSocket
	socketCommit = socketPage + "/commit"    // Manager.CommitHandler
	socketScript = socketPage + "/commit.js" // cookiesession.CommitScript
)

//go:embed socket.html
var socketHTML string

var socketTemplate = template.Must(template.New("socket").Parse(socketHTML))

// socketView is what socket.html shows.
type socketView struct {
	Counter   int    // SocketCounter, as this request's cookies carry it
	ID        string // the session ID
	WS        string // the WebSocket's path
	CommitURL string // the commit handler's path
	ScriptURL string // the commit helper's path
}

// socketMsg is what the socket sends: the counter, and after a change the
// commit token for it (or why there is none).
type socketMsg struct {
	Counter int    `json:"counter"`
	Token   string `json:"token,omitempty"`
	Error   string `json:"error,omitempty"`
}

// socketCmd is what the page sends: add Add to the counter.
type socketCmd struct {
	Add int `json:"add"`
}

// socketIdle closes a socket that has been quiet this long.
const socketIdle = 10 * time.Minute

// registerSocket adds the WebSocket page, its socket, the commit handler
// and the commit helper to mux.
func (d *demo) registerSocket(mux *http.ServeMux) {
	m := d.m
	mux.HandleFunc("GET "+socketPage, func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if s.IsNew() {
			// Commit tokens are accepted only for the session the browser
			// already holds: make sure it holds one before the socket opens.
			s.Touch()
		}
		v := socketView{Counter: s.Data.SocketCounter, ID: s.ID(), WS: socketWS, CommitURL: socketCommit, ScriptURL: socketScript}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := socketTemplate.Execute(w, v); err != nil {
			log.Printf("rendering the socket page: %v", err)
		}
	})

	mux.HandleFunc("GET "+socketWS, func(w http.ResponseWriter, r *http.Request) {
		// The session of the upgrade request, read before the connection
		// is hijacked. Accept checks that the page is of the same origin.
		s := m.Get(r)
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return // Accept has answered
		}
		defer c.CloseNow()
		// Close the socket as soon as its session is revoked (sign-out
		// or "log out everywhere", in any tab) or reaches its deadline.
		watch, stop := m.Watch(r.Context(), s)
		defer stop()
		go closeWhenEnded(watch, c)
		serveSocket(r.Context(), c, m, s)
	})

	mux.Handle("POST "+socketCommit, m.CommitHandler(cookiesession.CommitOptions{}))
	mux.Handle("GET "+socketScript, cookiesession.CommitScript())
}

// The close codes (application codes, 4000-4999) of a socket whose session
// ended; the page shows why.
const (
	statusRevoked websocket.StatusCode = 4001 // the session was revoked
	statusExpired websocket.StatusCode = 4002 // the session reached its deadline
)

// closeWhenEnded closes c, with the reason, when watch (from
// Manager.Watch) ends because the session was revoked or expired; it
// returns without closing when the connection ended first.
func closeWhenEnded(watch context.Context, c *websocket.Conn) {
	<-watch.Done()
	switch cause := context.Cause(watch); {
	case errors.Is(cause, cookiesession.ErrRevoked):
		c.Close(statusRevoked, "session revoked")
	case errors.Is(cause, cookiesession.ErrExpired):
		c.Close(statusExpired, "session expired")
	}
}

// serveSocket runs one socket: the counter on open, then a new counter and
// its commit token for each change.
func serveSocket(ctx context.Context, c *websocket.Conn, m *cookiesession.Manager[DemoSession], s *cookiesession.Session[DemoSession]) {
	if err := wsjson.Write(ctx, c, socketMsg{Counter: s.Data.SocketCounter}); err != nil {
		return
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, socketIdle)
		var cmd socketCmd
		err := wsjson.Read(rctx, c, &cmd)
		cancel()
		if err != nil {
			if websocket.CloseStatus(err) == -1 && !errors.Is(err, context.Canceled) {
				log.Printf("socket: %v", err)
			}
			return
		}
		if cmd.Add < -100 || cmd.Add > 100 {
			c.Close(websocket.StatusPolicyViolation, "add between -100 and 100")
			return
		}
		s.Data.SocketCounter += cmd.Add
		msg := socketMsg{Counter: s.Data.SocketCounter}
		if msg.Token, err = m.CommitToken(s); err != nil {
			// Refuse the click: undo it, so that the socket's copy of
			// the session stays the one the browser holds.
			s.Data.SocketCounter -= cmd.Add
			msg.Counter = s.Data.SocketCounter
			msg.Error = err.Error()
			if errors.Is(err, cookiesession.ErrTooLarge) {
				// Without an overflow store a commit token must fit the
				// cookies (with one, the commit handler stores it there).
				msg.Error = "refused: the session is too large for the cookies; empty the cart on the demo page and try again"
			}
		}
		if err := wsjson.Write(ctx, c, msg); err != nil {
			return
		}
	}
}
