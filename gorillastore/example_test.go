package gorillastore_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/cookiesession/cookiesession/gorillastore"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/gorilla/sessions"
)

// An application written for gorilla/sessions changes only the line that
// builds its store. (Real keys come from keyring.FromEnv or
// keyring.Generate; Secure is off here because httptest serves
// plain HTTP.)
func ExampleNew() {
	store, err := gorillastore.New(gorillastore.Options{
		Keys:    [][]byte{keyring.Generate()},
		Session: &sessions.Options{Path: "/", MaxAge: 86400 * 30, HttpOnly: true, SameSite: http.SameSiteLaxMode},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The handler is unchanged gorilla code.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session, err := store.Get(r, "app")
		if err != nil {
			log.Print(err) // a tampered or expired cookie: a new session
		}
		n, _ := session.Values["visits"].(int)
		session.Values["visits"] = n + 1
		if err := session.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "visit %d, new session: %v", n+1, session.IsNew)
	}))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for range 3 {
		res, err := client.Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// visit 1, new session: true
	// visit 2, new session: false
	// visit 3, new session: false
}
