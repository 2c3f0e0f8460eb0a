package testkit

import "net/http"

// CheckBinding is an Options.Binding that checks with its function and
// serves nothing: it covers Path "/" and its one endpoint, BindingPath,
// answers 404. Tests of the core's rule use it; the dbsc module is the
// real Binding.
type CheckBinding func(r *http.Request, id string, binding []byte) error

// BindingPath is the endpoint of a CheckBinding.
const BindingPath = "/.binding"

// Check calls f.
func (f CheckBinding) Check(r *http.Request, id string, binding []byte) error {
	return f(r, id, binding)
}

// Endpoints returns "/" and BindingPath.
func (CheckBinding) Endpoints() (string, []string) { return "/", []string{BindingPath} }

// Serve answers 404.
func (CheckBinding) Serve(w http.ResponseWriter, r *http.Request, _ string, _ []byte, _ error, _ func([]byte) error) {
	http.NotFound(w, r)
}
