package cookiesession

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// bindingEndpoints checks o.Binding's Endpoints against the session
// cookie's Path and returns the endpoint paths the middleware answers
// with Binding.Serve: the binding covers exactly the cookie's Path (its
// bound cookie and the browser's scope are the session cookie's), and
// each endpoint lies within it, where the browser sends the session's
// cookies.
func bindingEndpoints(o Options) ([]string, error) {
	if o.Binding == nil {
		return nil, nil
	}
	path, endpoints := o.Binding.Endpoints()
	if path != o.Path {
		return nil, fmt.Errorf("cookiesession: Options.Binding covers Path %q, not the session cookie's Path %q: give both the same Path", path, o.Path)
	}
	if len(endpoints) == 0 {
		return nil, errors.New("cookiesession: Options.Binding has no endpoints")
	}
	for _, e := range endpoints {
		if !pathWithin(e, o.Path) {
			return nil, fmt.Errorf("cookiesession: Options.Binding endpoint %q is not within the session cookie's Path %q, where the browser sends the session's cookies", e, o.Path)
		}
	}
	return slices.Clone(endpoints), nil
}

// routeBinding returns the handler of r: the binding's endpoint for a
// path that is one of them, next otherwise.
func (m *Manager[T]) routeBinding(next http.Handler, r *http.Request) http.Handler {
	if len(m.endpoints) == 0 || !slices.Contains(m.endpoints, r.URL.Path) {
		return next
	}
	return http.HandlerFunc(m.serveBinding)
}

// serveBinding answers a request to one of the binding's endpoints: the
// session opens through the one path (Binding.Check runs in decode), and
// Binding.Serve gets what came of it, with bind to bind and save it.
func (m *Manager[T]) serveBinding(w http.ResponseWriter, r *http.Request) {
	s, err := m.load(r)
	bind := func(binding []byte) error {
		if err != nil || s.IsNew() {
			return errors.New("cookiesession: no session to bind")
		}
		s.bind(binding)
		return m.Save(w, r, s)
	}
	m.opts.Binding.Serve(w, r, s.ID(), s.binding, err, bind)
}

// acceptBindings is the Binding of Manager.Inspect (inspect.go), which shows a
// session's binding without checking it, and serves nothing.
type acceptBindings struct{}

func (acceptBindings) Check(*http.Request, string, []byte) error { return nil }
func (acceptBindings) Endpoints() (string, []string)             { return "", nil }
func (acceptBindings) Serve(http.ResponseWriter, *http.Request, string, []byte, error, func([]byte) error) {
}
