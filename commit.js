// cookiesession commit helper: the browser side of Manager.CommitHandler.
//
// A server that changes the session while a WebSocket is open sends the
// page a commit token (Manager.CommitToken); the page hands it to
//
//   cookiesession.commit(url, token)
//
// which posts it to the commit handler mounted at url and returns a
// Promise. It resolves when the handler has set the session's cookies
// (204) and rejects with an Error whose status field holds the HTTP status
// (0 for a network failure) and whose message holds the handler's reason.
// Commits run one at a time, in call order, so that tokens reach the
// handler in the order the server issued them.
(function (global) {
  "use strict";

  var queue = Promise.resolve();

  function send(url, token) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "token=" + encodeURIComponent(token),
    }).then(
      function (resp) {
        if (resp.status === 204) {
          return;
        }
        return resp.text().then(function (reason) {
          var err = new Error(
            "cookiesession: commit failed: " + resp.status + " " + reason.trim()
          );
          err.status = resp.status;
          throw err;
        });
      },
      function (cause) {
        var err = new Error("cookiesession: commit failed: " + cause);
        err.status = 0;
        throw err;
      }
    );
  }

  function commit(url, token) {
    if (typeof token !== "string" || token === "") {
      return Promise.reject(new Error("cookiesession: commit needs a token"));
    }
    var run = function () {
      return send(url, token);
    };
    var p = queue.then(run, run);
    queue = p.catch(function () {});
    return p;
  }

  global.cookiesession = Object.freeze({ commit: commit });
})(typeof self !== "undefined" ? self : this);
