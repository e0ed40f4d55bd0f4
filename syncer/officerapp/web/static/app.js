// Doorstep officer app: the only script. It locks the screen after the
// configured inactivity (the server locks the session too), keeps the
// session alive while the officer works on one page, and saves the visit
// form as a draft while they type, shows the visit form's questions
// only when they apply, and registers the service worker that keeps the
// app's shell for when the agent is not running. Every page works without
// it.
(function () {
  'use strict';
  var body = document.body;
  var csrf = body.getAttribute('data-csrf');
  var lockAfter = parseInt(body.getAttribute('data-lock-after') || '0', 10);

  function post(url, data) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Requested-With': 'doorstep',
        'X-CSRF-Token': csrf
      },
      body: data
    });
  }

  if (csrf && lockAfter > 0) {
    var last = Date.now();
    var lastPing = Date.now();
    var activity = function () {
      last = Date.now();
      if (last - lastPing > 60000) {
        lastPing = last;
        post('/app/alive', '_csrf=' + encodeURIComponent(csrf)).then(function (r) {
          if (r.status === 401) { window.location.assign(window.location.pathname); }
        }).catch(function () {});
      }
    };
    ['keydown', 'pointerdown', 'input', 'touchstart', 'scroll'].forEach(function (ev) {
      document.addEventListener(ev, activity, { passive: true, capture: true });
    });
    setInterval(function () {
      if (Date.now() - last > lockAfter * 1000 + 1000) {
        window.location.assign(window.location.pathname);
      }
    }, 5000);
  }

  // errorText is the sentence of an error answer: the app's own ("error":
  // a sentence) or the JSON API's ("error": {code, field, message}).
  function errorText(e) {
    if (typeof e === 'string') { return e; }
    if (e && e.message) { return e.message.charAt(0).toUpperCase() + e.message.slice(1) + (/[.?]$/.test(e.message) ? '' : '.'); }
    return 'the tablet gave no reason. What you typed is still on this screen; try again.';
  }

  var form = document.querySelector('form[data-autosave]');
  if (form && csrf) {
    var status = document.getElementById('autosave-status');
    var timer = null, saving = false, again = false;
    var say = function (t) { if (status) { status.textContent = t; } };
    var save = function () {
      if (saving) { again = true; return; }
      saving = true;
      var data = new URLSearchParams(new FormData(form)).toString();
      post(form.getAttribute('data-autosave'), data).then(function (r) {
        if (r.status === 401) {
          say('Doorstep is locked: unlock it to keep saving. What you typed is still on this screen.');
          return null;
        }
        var ct = r.headers.get('Content-Type') || '';
        if (ct.indexOf('application/json') < 0) {
          return { error: 'The tablet answered ' + r.status + '. What you typed is still on this screen; try again.' };
        }
        return r.json();
      }).then(function (j) {
        if (!j) { return; }
        if (j.error) { say('The draft was not saved: ' + errorText(j.error)); return; }
        // Each answer that was not saved is named, with a link to it.
        var checks = j.checks || [];
        say('Draft saved at ' + j.saved + (checks.length ? '. ' + (checks.length > 1 ? checks.length + ' answers need' : '1 answer needs') +
          ' checking; ' + (checks.length > 1 ? 'they were' : 'it was') + ' not saved:' : '.'));
        if (status && checks.length) {
          var ul = document.createElement('ul');
          ul.id = 'autosave-checks';
          checks.forEach(function (c) {
            var li = document.createElement('li');
            var a = document.createElement('a');
            a.href = '#' + c.id;
            a.textContent = c.label + ': ' + c.message;
            li.appendChild(a);
            ul.appendChild(li);
          });
          status.appendChild(ul);
        }
      }).catch(function () {
        say('The draft could not be saved just now. It will be tried again when you next type.');
      }).then(function () {
        saving = false;
        if (again) { again = false; schedule(); }
      });
    };
    var schedule = function () {
      clearTimeout(timer);
      timer = setTimeout(save, 800);
    };
    form.addEventListener('input', schedule);
    form.addEventListener('change', schedule);
  }

  // Questions that apply only after another answer (data-when, the same
  // conditions as whenHolds in form.go) show only then. Without the
  // script every question shows; what is hidden is not signed.
  var conditional = document.querySelectorAll('[data-when]');
  var holds = function (fd, cond) {
    return cond.split('|').some(function (group) { return group.split('&').every(function (clause) {
      var not = clause.indexOf('!=') >= 0;
      var parts = clause.split(not ? '!=' : '=');
      var want = parts[1] || '';
      var has = fd.getAll(parts[0]).map(function (x) { return String(x).trim(); })
        .filter(function (x) { return x !== ''; });
      if (not) { return has.length > 0 && has.indexOf(want) < 0; }
      if (want === '') { return has.length === 0; }
      return has.indexOf(want) >= 0;
    }); });
  };
  var disclose = function () {
    Array.prototype.forEach.call(conditional, function (el) {
      var f = el.closest('form');
      if (f) { el.hidden = !holds(new FormData(f), el.getAttribute('data-when')); }
    });
  };
  if (conditional.length) {
    disclose();
    document.addEventListener('change', disclose);
    document.addEventListener('input', disclose);
  }

  // A link from another page to a question (Check your answers' "Change"
  // and its list of what is missing) lands with the focus in the question.
  var linked = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (linked && !document.getElementById('error-summary')) {
    var into = linked.matches('input, select, textarea') ? linked : linked.querySelector('input, select, textarea');
    if (into) {
      var when = linked.closest('.when');
      if (when) { when.hidden = false; }
      linked.scrollIntoView();
      into.focus();
    }
  }

  // Focus the error summary so that a keyboard or screen reader user lands on it.
  var summary = document.getElementById('error-summary');
  if (summary) {
    summary.setAttribute('tabindex', '-1');
    summary.focus();
    // A link in the summary takes the focus to the field itself (the first
    // choice of a group), not only to where it is.
    summary.addEventListener('click', function (ev) {
      var a = ev.target.closest('a[href^="#"]');
      var target = a && document.getElementById(a.getAttribute('href').slice(1));
      if (!target) { return; }
      var input = target.matches('input, select, textarea') ? target : target.querySelector('input, select, textarea');
      if (input) {
        ev.preventDefault();
        target.scrollIntoView();
        input.focus();
      }
    });
  }

  // The installable app: the service worker keeps the shell, so that the
  // app opened while the agent is not running says so (installable.go).
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(function () {});
  }
})();
