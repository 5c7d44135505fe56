/* Pipeday TV. Polls <page URL>/state every two seconds with If-None-Match (an unchanged state
   is a 304), renders it into fixed-size slots (no layout shift), counts down and shows the
   region's local time itself. Unreachable server: keep the last state, dim it, say
   "Reconnecting…", keep trying. 404: the link was turned off. */
(function () {
  "use strict";

  var SPIN_MS = 7000;             // how long the wheel turns
  var SPIN_FRESH_MS = 120000;     // a spin younger than this turns on screen; an older one is shown stopped
  var REQUEST_TIMEOUT_MS = 5000;
  var ROWS = 10;
  // Drawn, not emoji: a TV's browser may have no emoji font, and nothing is fetched from outside.
  var CROWN_SVG =
    '<svg viewBox="0 0 48 40" role="img" aria-label="leader"><path fill="#ffc53d" stroke="#8a5a00" stroke-width="2" ' +
    'd="M4 34 L2 10 L15 21 L24 4 L33 21 L46 10 L44 34 Z"/><rect x="4" y="34" width="40" height="5" rx="2" fill="#ffc53d"/></svg>';
  var TROPHY_SVG =
    '<svg viewBox="0 0 48 40" role="img" aria-label="winner"><path fill="#ffc53d" stroke="#8a5a00" stroke-width="2" ' +
    'd="M14 2 H34 V14 C34 22 29 26 24 26 C19 26 14 22 14 14 Z M14 6 H6 C6 14 10 18 15 18 M34 6 H42 C42 14 38 18 33 18"/>' +
    '<rect x="21" y="26" width="6" height="6" fill="#ffc53d"/><rect x="14" y="32" width="20" height="6" rx="2" fill="#ffc53d"/></svg>';
  var MARKS = { leader: CROWN_SVG, winner: TROPHY_SVG };

  var initial = document.getElementById("initial-state");
  var pollMs = Number(initial && initial.dataset.pollMs) || 2000;
  var stateUrl = location.pathname.replace(/\/+$/, "") + "/state";
  var etag = null;
  var state = null;
  var clockOffsetMs = 0;   // the app's time minus this screen's (X-Pipeday-Time)
  var stopped = false;
  var shownSpin = null;    // the spin the wheel shows (spun_at + winner)
  var wheelAnimation = null;
  var prizeRevealed = false;
  var previousTotals = {};

  function $(id) { return document.getElementById(id); }
  function now() { return Date.now() + clockOffsetMs; }

  // --- fit the 1920×1080 stage to the screen -------------------------------------------------
  function fit() {
    var scale = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
    var screen = $("screen");
    screen.style.transform = "scale(" + scale + ")";
    screen.style.left = Math.max(0, (window.innerWidth - 1920 * scale) / 2) + "px";
    screen.style.top = Math.max(0, (window.innerHeight - 1080 * scale) / 2) + "px";
  }
  window.addEventListener("resize", fit);

  // --- numbers, times ---------------------------------------------------------------------------
  function number(value) {
    if (value === Math.floor(value)) return Math.floor(value).toLocaleString("en-US");
    return String(value);
  }
  function countdownText(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }
  var formatters = {};
  function localClock(tz) {
    try {
      if (!formatters[tz]) {
        formatters[tz] = {
          time: new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
          zone: new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "short" })
        };
      }
      var at = new Date(now());
      var zoneName = formatters[tz].zone.formatToParts(at).filter(function (p) { return p.type === "timeZoneName"; });
      return { time: formatters[tz].time.format(at), zone: zoneName.length ? zoneName[0].value : tz };
    } catch (e) {
      return { time: "", zone: tz };
    }
  }

  // --- the board's ten fixed rows -----------------------------------------------------------------
  function buildRows() {
    var list = $("rows");
    for (var i = 0; i < ROWS; i++) {
      var li = document.createElement("li");
      li.className = "row empty";
      li.innerHTML = '<div class="bar"></div><span class="rank"></span>' +
        '<span class="name"><span class="mark"></span><span class="text"></span></span><span class="total"></span>';
      list.appendChild(li);
    }
  }

  function renderRows(rows, emptyText) {
    var items = $("rows").children;
    var totals = {};
    for (var i = 0; i < ROWS; i++) {
      var li = items[i], row = rows[i];
      li.classList.toggle("empty", !row);
      li.classList.toggle("placeholder", !row && i === 0 && !!emptyText);
      li.classList.toggle("winner", !!(row && row.winner));
      var mark = row ? (row.winner ? "winner" : row.leader ? "leader" : "") : "";
      var markSlot = li.querySelector(".mark");
      if (markSlot.dataset.mark !== mark) {
        markSlot.dataset.mark = mark;
        markSlot.innerHTML = MARKS[mark] || "";
      }
      li.className = li.className.replace(/ ?rank-\d/g, "") + (row && row.rank <= 3 ? " rank-" + row.rank : "");
      li.querySelector(".rank").textContent = row ? row.rank + (row.shared ? "=" : "") : "";
      li.querySelector(".text").textContent = row ? row.name : (i === 0 && emptyText ? emptyText : "");
      li.querySelector(".total").textContent = row ? number(row.total) : "";
      li.querySelector(".bar").style.width = row ? Math.round(row.bar * 1000) / 10 + "%" : "0";
      if (row) {
        totals[row.name] = row.total;
        if (previousTotals[row.name] !== undefined && row.total > previousTotals[row.name]) {
          li.classList.remove("bump");
          void li.offsetWidth; // restart the animation
          li.classList.add("bump");
        }
      }
    }
    previousTotals = totals;
  }

  function setList(id, items, build) {
    var list = $(id);
    while (list.firstChild) list.removeChild(list.firstChild);
    items.forEach(function (item) {
      var li = document.createElement("li");
      build(li, item);
      list.appendChild(li);
    });
  }
  function span(className, text) {
    var element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }
  function div(className, text) {
    var element = document.createElement("div");
    element.className = className;
    element.textContent = text;
    return element;
  }

  // --- phases ---------------------------------------------------------------------------------------
  function render(next) {
    state = next;
    document.body.className = document.body.className
      .split(" ").filter(function (c) { return c && c.indexOf("phase-") !== 0 && c !== "last-call"; })
      .concat(["phase-" + next.phase]).join(" ");
    var c = next.competition;
    $("eyebrow").textContent = next.region + (next.phase === "live" ? " · live" : "");
    if (next.phase === "week") {
      $("headline").textContent = "This week";
      var nextDay = next.next_day;
      $("subtitle").textContent = nextDay
        ? "Next: " + nextDay.name + " · " + nextDay.date + " " + nextDay.start_local
        : "This week's " + next.metric_label + ", goals and leaders' hours";
      $("board-title").textContent = "This week's " + next.metric_label;
      renderRows(next.rows, "No " + next.metric_label + " yet this week");
      renderWeekSide(next);
    } else {
      $("headline").textContent = c.name + (next.phase === "results" || next.phase === "spin" ? " — results" : "");
      $("subtitle").textContent = "Most " + c.metric_label + " · " + c.start_local + "–" + c.end_local + " " + c.end_zone;
      $("board-title").textContent = next.phase === "live" ? "Live standings" : "Final standings";
      renderRows(next.rows, next.phase === "live" ? "No " + c.metric_label + " yet — be the first!" : "Nobody scored");
    }
    $("more").textContent = next.more ? "+ " + next.more + " more on the board" : "";
    if (next.phase === "live") {
      setList("ticker", next.ticker, function (li, item) {
        li.appendChild(div("who", item.name));
        li.appendChild(div("what", "logged " + item.logged + " · " + item.at));
      });
    }
    if (next.phase === "spin") showSpin(next.spin); else stopWheel();
    if (next.phase === "ended" || next.phase === "results" || next.phase === "spin") renderWinners(next);
    tick();
  }

  function renderWinners(next) {
    var winners = next.winners || [];
    var metric = next.competition.metric_label;
    $("winners-title").textContent = winners.length > 1 ? "Winners" : "Winner";
    var hidePrize = next.phase === "spin" && !prizeRevealed;
    setList("winners", winners, function (li, winner) {
      var pending = !winner.prize || (hidePrize && winner.prize && winner.name === next.spin.winner);
      li.appendChild(div("who", winner.name));
      li.appendChild(div("score", number(winner.total) + " " + metric + (pending ? "" : " · wins")));
      li.appendChild(div("prize" + (pending ? " pending" : ""), pending ? "The wheel is coming up…" : winner.prize));
    });
    var note = "";
    if (next.phase === "ended") note = "Time's up! The results are on their way.";
    else if (!winners.length) note = "No winner this time.";
    $("winners-note").textContent = note;
  }

  function renderWeekSide(next) {
    setList("goals", next.goals, function (li, goal) {
      li.classList.toggle("met", goal.percent >= 100);
      li.appendChild(span("label", goal.label));
      li.appendChild(span("numbers", number(goal.done) + " / " + number(goal.target)));
      var track = div("track", "");
      var fill = div("fill", "");
      fill.style.width = Math.min(100, goal.percent) + "%";
      track.appendChild(fill);
      li.appendChild(track);
    });
    var target = next.leader_target;
    $("leaders-title").textContent = "Leaders' hours · goal " + target[0] + "–" + target[1] + " h";
    setList("leaders", next.leaders, function (li, leader) {
      li.classList.toggle("on-target", leader.on_target);
      var name = span("name", "");
      var crown = span("crown", "");
      crown.innerHTML = CROWN_SVG;
      name.appendChild(crown);
      name.appendChild(document.createTextNode(leader.name));
      li.appendChild(name);
      li.appendChild(span("hours", number(leader.hours) + " h"));
    });
    var upcoming = next.next && next.next[0];
    $("countdown-label").textContent = upcoming ? upcoming.name + " starts in" : "";
  }

  // --- every 250 ms: countdown, last call, local time -----------------------------------------------
  function tick() {
    if (!state) return;
    var clock = localClock(state.tz);
    $("clock").textContent = clock.time;
    $("zone").textContent = clock.zone + " · " + state.region;
    var label = "", value = "", lastCall = false;
    if (state.phase === "live") {
      var left = Math.max(0, Math.ceil((Date.parse(state.competition.ends_at) - now()) / 1000));
      lastCall = now() >= Date.parse(state.competition.last_call_at) && left > 0;
      label = left === 0 ? "Time's up" : lastCall ? "Last call" : "Ends in";
      value = countdownText(left);
    } else if (state.phase === "ended") {
      label = "Time's up";
      value = "0:00";
    } else if (state.phase === "week" && state.next && state.next.length) {
      var until = Math.max(0, Math.ceil((Date.parse(state.next[0].starts_at) - now()) / 1000));
      label = state.next[0].name + " starts in";
      value = countdownText(until);
    }
    $("countdown-label").textContent = label;
    $("countdown").textContent = value;
    document.body.classList.toggle("last-call", lastCall);
  }

  // --- the wheel (wheel.js draws it) ---------------------------------------------------------------
  var drawWheel = window.PipedayWheel.draw;

  function showSpin(spin) {
    var key = spin.spun_at + "|" + spin.winner;
    if (key === shownSpin) return;
    shownSpin = key;
    stopWheel();
    var turns = 5;
    var finalRotation = spin.stop_degrees + 360 * turns;
    var fresh = now() - Date.parse(spin.spun_at) < SPIN_FRESH_MS;
    if (!fresh) {
      prizeRevealed = true;
      drawWheel(spin, spin.stop_degrees);
      return;
    }
    prizeRevealed = false;
    var started = performance.now();
    function frame(at) {
      var t = Math.min(1, (at - started) / SPIN_MS);
      // quadratic ease-out, as the GIF: constant friction, the last steps still visibly move
      drawWheel(spin, finalRotation * (1 - (1 - t) * (1 - t)));
      if (t < 1) {
        wheelAnimation = requestAnimationFrame(frame);
      } else {
        wheelAnimation = null;
        prizeRevealed = true;
        document.body.classList.add("spun");
        renderWinners(state);
      }
    }
    wheelAnimation = requestAnimationFrame(frame);
  }

  function stopWheel() {
    if (wheelAnimation) cancelAnimationFrame(wheelAnimation);
    wheelAnimation = null;
    if (!state || state.phase !== "spin") {
      shownSpin = null;
      document.body.classList.remove("spun");
    }
  }

  // --- polling and the link's health ---------------------------------------------------------------
  // The app's time (X-Pipeday-Time, in ms) rather than this screen's: a TV's clock may be off.
  function syncClock(serverMs, sentAt) {
    var server = Number(serverMs);
    if (!serverMs || isNaN(server)) return;
    var offset = server + (Date.now() - sentAt) / 2 - Date.now();
    if (Math.abs(offset - clockOffsetMs) > 1000) clockOffsetMs = offset;
  }

  function healthy() {
    document.body.classList.remove("stale");
    $("status").textContent = "";
  }

  function unhealthy() {
    document.body.classList.add("stale");
    $("status").textContent = "Reconnecting…";
  }

  function turnedOff() {
    stopped = true;
    $("off").hidden = false;
    document.body.classList.add("off");
  }

  function poll() {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    var headers = {};
    if (etag) headers["If-None-Match"] = etag;
    var sentAt = Date.now();
    fetch(stateUrl, { headers: headers, cache: "no-store", credentials: "omit", signal: controller.signal })
      .then(function (response) {
        syncClock(response.headers.get("X-Pipeday-Time"), sentAt);
        if (response.status === 304) { healthy(); return null; }
        if (response.status === 404) { turnedOff(); return null; }
        if (!response.ok) throw new Error("state answered " + response.status);
        var tag = response.headers.get("ETag");
        return response.json().then(function (body) {
          etag = tag;
          healthy();
          render(body);
        });
      })
      .catch(function () { unhealthy(); })
      .then(function () {
        clearTimeout(timer);
        if (!stopped) setTimeout(poll, pollMs);
      });
  }

  buildRows();
  fit();
  if (initial) syncClock(initial.dataset.serverTime, Date.now());
  if (initial && initial.textContent.trim()) {
    try {
      etag = initial.dataset.etag || null;
      render(JSON.parse(initial.textContent));
    } catch (e) {
      etag = null;
    }
  }
  setInterval(tick, 250);
  setTimeout(poll, pollMs);
  // Expose what the browser tests read; nothing here is needed by the page itself.
  window.pipedayTv = { state: function () { return state; }, prizeRevealed: function () { return prizeRevealed; } };
})();
