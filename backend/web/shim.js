// Preload Station headless shim: defines window.go.<pkg>.<Service>.<Method>()
// and window.runtime.* over HTTP so the Wails frontend runs unchanged in a
// browser. Calls go to POST /api/call; events arrive on GET /api/events (SSE).
(function () {
  "use strict";
  if (window.runtime && window.go) return; // inside the Wails window: nothing to do

  function call(service, method, args) {
    return fetch("/api/call", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ service: service, method: method, args: args }),
    }).then(
      function (res) {
        return res.json().then(
          function (body) {
            if (body && body.error) throw body.error;
            return body ? body.result : undefined;
          },
          function () {
            throw { code: "network", message: "HTTP " + res.status + " " + res.statusText };
          }
        );
      },
      function (err) {
        throw { code: "network", message: String(err && err.message ? err.message : err) };
      }
    );
  }

  // window.go.services.AuthService.Login(...) → call("AuthService", "Login", [...]).
  function namespace(fn) {
    var cache = {};
    return new Proxy(
      {},
      {
        get: function (_, key) {
          if (typeof key !== "string" || key === "then") return undefined;
          if (!(key in cache)) cache[key] = fn(key);
          return cache[key];
        },
      }
    );
  }
  window.go = namespace(function () {
    return namespace(function (service) {
      return namespace(function (method) {
        return function () {
          return call(service, method, Array.prototype.slice.call(arguments));
        };
      });
    });
  });

  // ---- events ---------------------------------------------------------
  var listeners = {}; // name → [{cb, left}]
  function dispatch(name, args) {
    var list = listeners[name];
    if (!list) return;
    list.slice().forEach(function (l) {
      if (l.left === 0) return;
      if (l.left > 0) l.left--;
      try {
        l.cb.apply(null, args);
      } catch (e) {
        console.error("event listener for", name, "failed:", e);
      }
    });
    listeners[name] = (listeners[name] || []).filter(function (l) {
      return l.left !== 0;
    });
    if (listeners[name].length === 0) delete listeners[name];
  }

  var source = null;
  function connect() {
    if (source || typeof EventSource === "undefined") return;
    source = new EventSource("/api/events");
    source.onmessage = function (e) {
      var msg;
      try {
        msg = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      dispatch(msg.name, [msg.payload]);
    };
    // EventSource reconnects by itself (retry: 1000 from the server).
  }

  function onMultiple(name, cb, max) {
    connect();
    var l = { cb: cb, left: max === undefined || max < 0 ? -1 : max };
    (listeners[name] = listeners[name] || []).push(l);
    return function () {
      if (!listeners[name]) return;
      listeners[name] = listeners[name].filter(function (x) {
        return x !== l;
      });
      if (listeners[name].length === 0) delete listeners[name];
    };
  }

  function log(level) {
    return function (message) {
      (console[level] || console.log).call(console, "[station]", message);
    };
  }
  function noop() {}

  var runtime = {
    EventsOnMultiple: onMultiple,
    EventsOn: function (name, cb) {
      return onMultiple(name, cb, -1);
    },
    EventsOnce: function (name, cb) {
      return onMultiple(name, cb, 1);
    },
    EventsOff: function (name) {
      for (var i = 0; i < arguments.length; i++) delete listeners[arguments[i]];
    },
    EventsOffAll: function () {
      listeners = {};
    },
    // In the browser an event emitted by the page reaches this page's listeners.
    EventsEmit: function (name) {
      dispatch(name, Array.prototype.slice.call(arguments, 1));
    },
    LogPrint: log("log"),
    LogTrace: log("debug"),
    LogDebug: log("debug"),
    LogInfo: log("info"),
    LogWarning: log("warn"),
    LogError: log("error"),
    LogFatal: log("error"),
    BrowserOpenURL: function (url) {
      window.open(url, "_blank", "noopener");
    },
    Environment: function () {
      return Promise.resolve({ buildType: "headless", platform: "web", arch: "" });
    },
    WindowSetTitle: function (title) {
      document.title = title;
    },
    WindowReload: function () {
      location.reload();
    },
    WindowReloadApp: function () {
      location.reload();
    },
    ClipboardGetText: function () {
      return navigator.clipboard ? navigator.clipboard.readText() : Promise.resolve("");
    },
    ClipboardSetText: function (text) {
      return navigator.clipboard ? navigator.clipboard.writeText(text).then(function () { return true; }) : Promise.resolve(false);
    },
    // No native file drop in a browser: the page uses HTML5 drag and drop instead.
    OnFileDrop: noop,
    OnFileDropOff: noop,
    CanResolveFilePaths: function () {
      return false;
    },
    ResolveFilePaths: noop,
    Quit: noop,
  };
  // Window calls that mean nothing in a browser tab do nothing instead of throwing.
  window.runtime = new Proxy(runtime, {
    get: function (target, key) {
      if (key in target) return target[key];
      if (typeof key === "string" && key !== "then") return noop;
      return undefined;
    },
  });
})();
