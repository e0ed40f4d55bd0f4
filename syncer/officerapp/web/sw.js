// Doorstep officer app: the service worker (issue 14). It keeps the app's
// shell (the stylesheet, the script, the icons, the manifest and the
// offline page) and nothing else: never a page, never an answer of the
// local JSON API, so no case data is kept outside the tablet's encrypted store.
// A page is always asked of the agent; when the agent does not answer
// (it is not running), the offline page says so and what to do.
'use strict';
var CACHE = '__CACHE__';
var SHELL = [__SHELL__];
var OFFLINE = '__OFFLINE__';

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(SHELL);
  }).then(function () {
    return self.skipWaiting();
  }));
});

// A new worker (a new build of the app) drops the caches of the old ones.
self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () {
    return self.clients.claim();
  }));
});

self.addEventListener('fetch', function (event) {
  var req = event.request;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (req.method === 'GET' && SHELL.indexOf(url.pathname) >= 0) {
    // The agent's copy first (a new build's stylesheet at once), the kept
    // one when the agent does not answer.
    event.respondWith(fetch(req).catch(function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(url.pathname); });
    }));
    return;
  }
  if (req.mode === 'navigate') {
    // A page (or a form sent): from the agent only, never kept.
    event.respondWith(fetch(req).catch(function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(OFFLINE); });
    }));
  }
  // Everything else (the local API, the autosave) goes to the agent as if
  // there were no worker.
});
