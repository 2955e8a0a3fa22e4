// printlab dashboard: one live stream (GET /dashboard/events, server-sent events read through
// fetch so the request can carry the token: the devices' printers and jobs, and the same
// printers and jobs as Graph shows them, uploads included), and the control API for actions
// and outputs.
// The token comes from the address's fragment (#token=…), which never reaches a server or a
// log; it is kept for this tab only (sessionStorage) and taken out of the address bar.
'use strict';

(() => {
  const TOKEN_KEY = 'printlab-dashboard-token';
  const RECONNECT_MS = 2000;
  // Drawn at most this often: live to the eye, and a busy fleet's events cost a few drawings
  // a second rather than one per event or per frame.
  const DRAW_EVERY_MS = 250;
  const THUMBNAIL_WIDTH = 288; // twice the CSS width, for high-density screens
  const FINAL = new Set(['completed', 'canceled', 'aborted']);
  const ACTIVE = new Set(['pending', 'processing', 'stopped']);
  // Finished jobs listed at most: a lab printing for hours would otherwise grow the page without
  // end. Jobs not yet finished are always listed; older finished ones stay in the spool.
  const MAX_JOBS_LISTED = 300;
  const IDENTIFY_SHOWN_MS = 60000; // how long a printer's card shows an Identify-Printer

  const $ = (id) => document.getElementById(id);
  const printers = new Map(); // name -> PrinterSnapshot
  const jobs = new Map(); // "printer/job" -> JobView (the device's), oldest first
  const jobsOfPrinter = new Map(); // printer name -> Set of its "printer/job" keys in `jobs`
  const graphPrinters = new Map(); // Graph printer id -> {id, displayName, isAcceptingJobs, status}
  const graphIdByName = new Map(); // printer name -> Graph printer id
  // "printer/job" -> {printerId, printerName, job (Graph printJob), upload: {bytesReceived, size}}
  const graphJobs = new Map();
  const printerCards = new Map(); // name -> the parts of its card (buildCard)
  // Cards and the front panel's list go by name as a person reads it (P2 before P10), not in
  // the order the printers' first events happened to arrive.
  const byName = new Intl.Collator(undefined, { numeric: true }).compare;
  const cardOrder = []; // printer names, sorted by byName, one per card on the page
  const jobRows = new Map(); // "printer/job" -> <tr>
  const jobRowShown = new Map(); // "printer/job" -> what its row was drawn from, as JSON
  // What changed since the page was last drawn: drawn at most every DRAW_EVERY_MS, so a burst
  // of events (a busy fleet, the stream's first burst) costs one drawing, not one per event.
  const changed = { printers: new Set(), jobs: new Set() };
  let drawScheduled = false;
  let printerNamesChanged = false; // a printer came: the front panel's list is drawn again
  let olderJobsDropped = 0;
  const sideImages = new Map(); // "printer/job/file" -> object URL
  let token = null;
  let faultKinds = [];
  let openJob = null; // key of the job whose output is shown
  let manifestShown = null; // "key state" the manifest was read for
  let live = false; // the stream has sent its first burst
  let eventsReceived = 0; // on #connection's data-events, for load runs to read
  const identifyTimers = new Map(); // printer name -> timer that takes its Identify line away

  /** An element with attributes and children (strings become text, never HTML). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Replaces a node's children; null and undefined stand for nothing. */
  function fill(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  }

  const jobKey = (printer, id) => `${printer}/${id}`;
  const words = (keyword) => String(keyword).replace(/-/g, ' ');
  const time = (iso) => {
    const at = new Date(iso);
    return el('time', { datetime: iso, title: at.toLocaleString() }, at.toLocaleTimeString());
  };
  const printerPath = (name) => `/control/printers/${encodeURIComponent(name)}`;

  function readToken() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const given = fragment.get('token');
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given);
      history.replaceState(null, '', location.pathname + location.search);
      return given;
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function askForToken(problem) {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    $('token-form').hidden = false;
    $('token-problem').textContent = problem || '';
    setConnection('Not connected: the dashboard needs the lab\u2019s admin token.', false);
    $('token-input').focus();
  }

  function setConnection(text, live) {
    const node = $('connection');
    if (node.textContent !== text) node.textContent = text;
    node.classList.toggle('live', Boolean(live));
  }

  /** A control API request with the token; a refused token asks for another. */
  async function api(path, options = {}) {
    const response = await fetch(path, {
      ...options,
      cache: 'no-store',
      headers: { Authorization: `Bearer ${token}`, ...(options.headers || {}) },
    });
    if (response.status === 401 || response.status === 403) {
      askForToken(`The lab refused the token (HTTP ${response.status}).`);
      throw new Error(`HTTP ${response.status}`);
    }
    return response;
  }

  // ---- the live stream ------------------------------------------------------------------

  async function follow() {
    while (token) {
      // What each half's first burst sent, to forget what went away while disconnected.
      const seen = { device: new Set(), graph: new Set() };
      live = false;
      try {
        const response = await api('/dashboard/events');
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        setConnection('Connected: loading the lab…', false);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          // Every whole event in what came; the rest waits for the next read.
          const blocks = (buffer + value).split('\n\n');
          buffer = blocks.pop();
          for (const block of blocks) receive(block, seen);
          // Counted once a read, not once an event: each write is a DOM change.
          $('connection').dataset.events = eventsReceived;
        }
        live = false;
        setConnection('The lab closed the stream; reconnecting…', false);
      } catch (error) {
        if (!token) return;
        live = false;
        setConnection(`Disconnected (${error.message}); reconnecting…`, false);
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  /** One server-sent event block: `event:` and `data:` lines; `:` lines keep the line open. */
  function receive(block, seen) {
    let kind = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) kind = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length === 0) return;
    eventsReceived += 1;
    const value = JSON.parse(data.join('\n'));
    if (kind === 'printer') {
      if (!printers.has(value.name)) printerNamesChanged = true;
      printers.set(value.name, value);
      changed.printers.add(value.name);
    } else if (kind === 'job') {
      const key = jobKey(value.printer, value.jobId);
      seen.device.add(key);
      jobs.set(key, value);
      if (!jobsOfPrinter.has(value.printer)) jobsOfPrinter.set(value.printer, new Set());
      jobsOfPrinter.get(value.printer).add(key);
      changed.jobs.add(key);
    } else if (kind === 'job-removed') {
      forgetJob(jobKey(value.printer, value.jobId));
    } else if (kind === 'ready') {
      // What was removed while the stream was down is not in the new stream's first burst.
      for (const key of [...jobs.keys()]) if (!seen.device.has(key)) forgetJob(key);
      live = true;
    } else if (kind === 'graph-printer') {
      graphPrinters.set(value.id, value);
      graphIdByName.set(value.displayName, value.id);
      changed.printers.add(value.displayName);
    } else if (kind === 'graph-job') {
      const key = jobKey(value.printerName, value.job.id);
      seen.graph.add(key);
      graphJobs.set(key, { ...graphJobs.get(key), ...value });
      changed.jobs.add(key);
    } else if (kind === 'graph-upload') {
      const key = jobKey(value.printerName, value.jobId);
      const known = graphJobs.get(key) || { printerId: value.printerId, printerName: value.printerName, job: null };
      graphJobs.set(key, { ...known, upload: { bytesReceived: value.bytesReceived, size: value.size, documentName: value.documentName } });
      changed.jobs.add(key);
    } else if (kind === 'graph-ready') {
      // Graph's first burst holds the jobs not finished: those it no longer has are forgotten.
      for (const key of [...graphJobs.keys()]) {
        if (!seen.graph.has(key)) {
          graphJobs.delete(key);
          changed.jobs.add(key);
        }
      }
    }
    scheduleDraw();
  }

  /** The device's view of a job went away (Graph's, if any, stays). */
  function forgetJob(key) {
    const job = jobs.get(key);
    if (!job) return;
    jobs.delete(key);
    jobsOfPrinter.get(job.printer)?.delete(key);
    changed.jobs.add(key);
    changed.printers.add(job.printer);
  }

  /** A job no longer listed at all. */
  function dropJob(key) {
    forgetJob(key);
    graphJobs.delete(key);
    changed.jobs.add(key);
  }

  const graphFinal = (entry) => Boolean(entry.job) && FINAL.has(entry.job.status.state);

  /** A job's number: the cloud numbers jobs in the order they were created. */
  const jobNumber = (key) => Number(key.slice(key.lastIndexOf('/') + 1));

  /**
   * Forgets the oldest finished jobs beyond MAX_JOBS_LISTED, oldest by job number, not by when
   * the page first heard of them: a stream that starts again sends every job once more, and
   * those old jobs must not push out the newest.
   */
  function dropOldJobs() {
    const listed = new Set([...jobs.keys(), ...graphJobs.keys()]);
    const excess = listed.size - MAX_JOBS_LISTED;
    if (excess <= 0) return;
    const finished = [];
    for (const key of listed) {
      if (key === openJob) continue;
      const job = jobs.get(key);
      // Jobs only Graph has count too (canceled before a printer fetched them, say).
      const done = job ? FINAL.has(job.state) : graphFinal(graphJobs.get(key));
      if (done) finished.push(key);
    }
    finished.sort((a, b) => jobNumber(a) - jobNumber(b));
    for (const key of finished.slice(0, excess)) {
      dropJob(key);
      olderJobsDropped += 1;
    }
  }

  function scheduleDraw() {
    if (drawScheduled) return;
    drawScheduled = true;
    setTimeout(() => requestAnimationFrame(draw), DRAW_EVERY_MS);
  }

  function draw() {
    drawScheduled = false;
    dropOldJobs();
    for (const key of changed.jobs) {
      renderJob(key);
      const printer = jobs.get(key)?.printer || graphJobs.get(key)?.printerName;
      if (printer) changed.printers.add(printer);
    }
    for (const name of changed.printers) {
      const printer = printers.get(name);
      if (printer) renderPrinter(printer);
    }
    if (printerNamesChanged) renderPanelPrinters();
    else if (changed.printers.has($('panel-printer').value)) renderPanelChoices();
    printerNamesChanged = false;
    if (changed.jobs.has(openJob)) renderOutput();
    changed.printers.clear();
    changed.jobs.clear();
    $('no-jobs').hidden = jobRows.size > 0;
    $('older-jobs').hidden = olderJobsDropped === 0;
    if (live) setConnection(`Live: ${printers.size} printers, ${jobRows.size} jobs`, true);
  }

  // ---- the fleet --------------------------------------------------------------------------

  /** The printer's last Identify-Printer while it is recent, as its display would show it. */
  function identifyLine(p) {
    clearTimeout(identifyTimers.get(p.name));
    const identified = p.identified;
    const left = identified ? Date.parse(identified.at) + IDENTIFY_SHOWN_MS - Date.now() : 0;
    if (!(left > 0)) return null;
    identifyTimers.set(p.name, setTimeout(() => renderPrinter(printers.get(p.name) || p), left));
    return el('p', { class: 'identify', role: 'status' },
      el('strong', {}, 'Identify: '), identified.actions.join(', '),
      identified.message ? ` “${identified.message}”` : '', ' at ', time(identified.at));
  }

  /** Writes `text` into `node` only when it differs: an unchanged node costs no style work. */
  function setText(node, text) {
    const value = String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  /** Sets an attribute only when it differs; null removes it. */
  function setAttr(node, name, value) {
    if (value === null || value === undefined) {
      if (node.hasAttribute(name)) node.removeAttribute(name);
    } else if (node.getAttribute(name) !== String(value)) {
      node.setAttribute(name, value);
    }
  }

  /**
   * A card's parts that change, built once: a busy fleet changes a few words of a card per
   * job, so a change writes those words instead of building the card again (a thousand cards
   * rebuilt a few times a minute each was most of the page's work and half its DOM nodes).
   */
  function buildCard(p) {
    const titleId = `printer-${printerCards.size}`;
    const parts = {};
    const cell = (name, attrs = {}) => (parts[name] = el('td', attrs));
    const dd = (name) => (parts[name] = el('dd', {}));
    parts.card = el('li', { 'data-printer': p.name, 'aria-labelledby': titleId },
      el('h3', { id: titleId }, p.name),
      el('table', { class: 'views', 'aria-label': `${p.name} as the device reports it and as Graph shows it` },
        el('thead', {}, el('tr', {},
          el('td', {}),
          el('th', { scope: 'col' }, 'Device'),
          el('th', { scope: 'col', title: 'The printer as a Graph client reads it: status and isAcceptingJobs' }, 'Graph'))),
        el('tbody', {},
          el('tr', {}, el('th', { scope: 'row' }, 'State'),
            el('td', {}, parts.badge = el('span', {})), cell('graphState')),
          el('tr', {}, el('th', { scope: 'row' }, 'Reasons'), cell('reasons'), cell('graphDetails')),
          el('tr', {}, el('th', { scope: 'row' }, 'Accepting jobs'), cell('accepting'), cell('graphAccepting')))),
      parts.facts = el('dl', {},
        el('dt', {}, 'Connected'), dd('connected'),
        el('dt', {}, 'Current job'), dd('current'),
        el('dt', {}, 'Queue'), dd('queue'),
        el('dt', {}, 'Jobs done'), dd('done')),
      parts.button = el('button', { type: 'button', onclick: () => openPanel(p.name) }, `Front panel of ${p.name}`));
    // Lists of supplies and trays only for printers that have them.
    parts.supplies = null;
    parts.trays = null;
    parts.identify = null;
    return parts;
  }

  /** A list of words in a cell, or `none`; rebuilt only when the words change. */
  function setWords(cell, list, className, label) {
    const shape = list.join('\n');
    if (cell.dataset.words === shape && cell.firstChild) return;
    cell.dataset.words = shape;
    fill(cell, list.length
      ? el('ul', { class: className, 'aria-label': label }, list.map((w) => el('li', {}, w)))
      : 'none');
  }

  /**
   * The levels of supplies or trays (`which`, the list's label): the list made when the first
   * comes, items rebuilt when the names change, else updated in place.
   */
  function setLevels(parts, which, levels, build, update) {
    const key = which.toLowerCase();
    if (!parts[key]) {
      if (levels.length === 0) return;
      parts[key] = el('ul', { class: 'levels', 'aria-label': which });
      // Supplies before trays, both before the button.
      (key === 'supplies' && parts.trays ? parts.trays : parts.button).before(parts[key]);
    }
    const list = parts[key];
    const shape = levels.map((l) => l.name).join('\n');
    if (list.dataset.shape !== shape) {
      list.dataset.shape = shape;
      fill(list, levels.map(build));
      list.hidden = levels.length === 0;
    }
    levels.forEach((level, i) => update(list.children[i], level));
  }

  function supplyItem(s) {
    const label = el('span', { class: s.color ? 'swatch' : null }, s.name);
    // Colours set through the CSSOM: the page's policy allows no inline style attributes.
    if (s.color) label.style.setProperty('--swatch', s.color);
    return el('li', {}, label,
      el('meter', { min: 0, max: 100, low: s.low + 1, optimum: 100, value: s.level, 'aria-label': `${s.name} level` }),
      el('span', {}));
  }

  function updateSupply(item, s) {
    const [, meter, value] = item.children;
    if (meter.value !== s.level) meter.value = s.level;
    setText(value, `${s.level} %`);
  }

  function trayItem(t) {
    return el('li', {}, el('span', {}, t.name), el('span', {}), el('span', {}));
  }

  function updateTray(item, t) {
    setAttr(item, 'title', `${t.name}: ${t.mediaSize}`);
    const [, gauge, value] = item.children;
    if (t.level === null) {
      if (gauge.tagName !== 'SPAN' || gauge.textContent !== 'never runs out') {
        gauge.replaceWith(el('span', {}, 'never runs out'));
      }
    } else {
      const meter = gauge.tagName === 'METER' ? gauge : el('meter', { min: 0 });
      if (meter !== gauge) gauge.replaceWith(meter);
      if (meter.max !== t.capacity) meter.max = t.capacity;
      if (meter.value !== t.level) meter.value = t.level;
      setAttr(meter, 'aria-label', `${t.name} paper (${t.mediaSize})`);
    }
    setText(value, t.level === null ? '' : `${t.level}`);
  }

  /** Puts a new card where its name sorts among the cards already on the page. */
  function placeCard(name, card) {
    let low = 0;
    let high = cardOrder.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (byName(cardOrder[middle], name) < 0) low = middle + 1;
      else high = middle;
    }
    const next = cardOrder[low];
    cardOrder.splice(low, 0, name);
    $('printers').insertBefore(card, next === undefined ? null : printerCards.get(next).card);
  }

  function renderPrinter(p) {
    let parts = printerCards.get(p.name);
    if (!parts) {
      parts = buildCard(p);
      printerCards.set(p.name, parts);
      placeCard(p.name, parts.card);
    }
    const { card } = parts;
    const className = `printer state-${p.state}`;
    if (card.className !== className) card.className = className;
    setAttr(card, 'data-state', p.state);
    const graph = graphPrinters.get(graphIdByName.get(p.name));
    setAttr(card, 'data-graph-state', graph ? graph.status.state : '');

    // The device's view beside Graph's.
    const badgeClass = `badge state-${p.state}`;
    if (parts.badge.className !== badgeClass) parts.badge.className = badgeClass;
    setText(parts.badge, p.state);
    setWords(parts.reasons, p.reasons.filter((r) => r !== 'none').map(words), 'reasons', 'Reasons the device reports');
    setText(parts.accepting, yesNo(p.acceptingJobs));
    for (const [name, graphClass] of [['graphState', 'graph-state'], ['graphDetails', ''], ['graphAccepting', 'graph-accepting']]) {
      const want = graph ? graphClass : 'muted';
      if (parts[name].className !== want) parts[name].className = want;
    }
    if (graph) {
      const state = graph.status.state;
      setAttr(parts.graphState, 'title', graph.status.description || null);
      const badge = parts.graphState.firstElementChild;
      if (!badge || badge.textContent !== state) {
        fill(parts.graphState, el('span', { class: `badge state-${state}` }, state));
      }
      setWords(parts.graphDetails, graph.status.details.filter((d) => d !== 'none'), 'graph-details', 'Graph status details');
      setText(parts.graphAccepting, yesNo(graph.isAcceptingJobs));
    } else {
      for (const name of ['graphState', 'graphDetails', 'graphAccepting']) {
        delete parts[name].dataset.words;
        setText(parts[name], 'waiting for Graph');
      }
    }

    const identify = identifyLine(p);
    if (parts.identify) parts.identify.remove();
    parts.identify = identify;
    if (identify) parts.facts.before(identify);

    const queue = [...(jobsOfPrinter.get(p.name) || [])]
      .map((key) => jobs.get(key))
      .filter((j) => j && ACTIVE.has(j.state) && j.jobId !== p.job)
      .map((j) => `#${j.jobId}`);
    setText(parts.connected, p.connected ? 'yes' : 'no');
    setText(parts.current, p.job === null || p.job === undefined ? 'none' : `#${p.job}`);
    setText(parts.queue, queue.length ? queue.join(', ') : 'empty');
    setText(parts.done, p.jobsCompleted);
    setLevels(parts, 'Supplies', p.supplies, supplyItem, updateSupply);
    setLevels(parts, 'Trays', p.trays, trayItem, updateTray);
  }

  const yesNo = (value) => (value === null || value === undefined ? 'not said' : value ? 'yes' : 'no');

  // ---- the front panel --------------------------------------------------------------------

  function renderPanelPrinters() {
    const select = $('panel-printer');
    const names = [...printers.keys()].sort(byName);
    const have = [...select.options].map((o) => o.value);
    if (names.join('\n') === have.join('\n')) return renderPanelChoices();
    const chosen = select.value;
    select.replaceChildren(...names.map((name) => el('option', { value: name }, name)));
    if (names.includes(chosen)) select.value = chosen;
    renderPanelChoices();
  }

  /** What depends on the chosen printer: its trays and supplies, kept as a person left them. */
  function renderPanelChoices() {
    renderTrayChoices();
    renderPanelTrays();
    renderPanelSupplies();
  }

  /** Rows rebuilt only when the printer or its list changes, so a choice being made stays. */
  function keepRows(body, shape, rows) {
    if (body.dataset.shape === shape) return false;
    body.dataset.shape = shape;
    body.replaceChildren(...rows());
    return true;
  }

  function renderPanelTrays() {
    const printer = printers.get($('panel-printer').value);
    const trays = printer ? printer.trays : [];
    $('panel-trays-table').hidden = trays.length === 0;
    const shape = printer ? `${printer.name}\n${trays.map((t) => t.name).join('\n')}\n${printer.mediaSizes.join('\n')}` : '';
    keepRows($('panel-trays'), shape, () => trays.map((t, i) => {
      const id = `tray-media-${i}`;
      return el('tr', { 'data-tray': t.name },
        el('th', { scope: 'row' }, t.name),
        el('td', { class: 'loaded' }),
        el('td', {},
          el('label', { for: id, class: 'visually-hidden' }, `New paper for ${t.name}`),
          el('select', { id }, printer.mediaSizes.map((size) => el('option', { value: size }, size)))),
        el('td', {},
          el('button', { type: 'button', 'data-action': 'load',
            onclick: () => act('PUT', `trays/${encodeURIComponent(t.name)}`, { mediaSize: $(id).value }) },
          'Load', el('span', { class: 'visually-hidden' }, ` ${t.name}`))));
    }));
    for (const t of trays) {
      const row = [...$('panel-trays').children].find((r) => r.dataset.tray === t.name);
      if (!row) continue;
      row.querySelector('.loaded').textContent = t.level === null ? t.mediaSize : `${t.mediaSize}, ${t.level} of ${t.capacity} sheets`;
    }
  }

  function renderPanelSupplies() {
    const printer = printers.get($('panel-printer').value);
    const supplies = printer ? printer.supplies : [];
    $('panel-supplies-table').hidden = supplies.length === 0;
    const shape = printer ? `${printer.name}\n${supplies.map((s) => s.name).join('\n')}` : '';
    const rebuilt = keepRows($('panel-supplies'), shape, () => supplies.map((s, i) => {
      const id = `supply-level-${i}`;
      return el('tr', { 'data-supply': s.name },
        el('th', { scope: 'row' }, s.name),
        el('td', { class: 'level' }),
        el('td', {},
          el('label', { for: id, class: 'visually-hidden' }, `New level of ${s.name} in percent`),
          el('input', { id, type: 'number', min: 0, max: 100, step: 1 }), ' %'),
        el('td', {},
          el('button', { type: 'button', 'data-action': 'set-level',
            onclick: () => act('PUT', `supplies/${encodeURIComponent(s.name)}`, { level: Number($(id).value) }) },
          'Set', el('span', { class: 'visually-hidden' }, ` ${s.name}`))));
    }));
    supplies.forEach((s, i) => {
      const row = [...$('panel-supplies').children].find((r) => r.dataset.supply === s.name);
      if (!row) return;
      row.querySelector('.level').textContent = `${s.level} % (low at ${s.low} %)`;
      if (rebuilt) $(`supply-level-${i}`).value = s.level;
    });
  }

  function renderTrayChoices() {
    const select = $('fault-option-paper-out');
    const printer = printers.get($('panel-printer').value);
    if (!select || !printer) return;
    const trays = printer.trays.map((t) => t.name);
    const have = [...select.options].map((o) => o.value).slice(1);
    if (trays.join('\n') === have.join('\n')) return;
    select.replaceChildren(el('option', { value: '' }, 'all paper'), ...trays.map((t) => el('option', { value: t }, t)));
  }

  function openPanel(name) {
    $('panel-printer').value = name;
    renderPanelChoices();
    $('panel-printer').focus();
  }

  /** An option a fault takes, as the control API names it (tray, for, ms). */
  function faultOption(kind) {
    const id = `fault-option-${kind}`;
    if (kind === 'paper-out') {
      return [el('label', { for: id, class: 'visually-hidden' }, 'Tray'), el('select', { id }, el('option', { value: '' }, 'all paper'))];
    }
    if (kind === 'offline') {
      return [el('label', { for: id, class: 'visually-hidden' }, 'Offline for (30s, 2m; empty: until cleared)'),
        el('input', { id, type: 'text', placeholder: 'for 30s', inputmode: 'text' })];
    }
    if (kind === 'network-latency') {
      return [el('label', { for: id, class: 'visually-hidden' }, 'Milliseconds added'),
        el('input', { id, type: 'number', min: 0, value: 500 }), ' ms'];
    }
    return [];
  }

  function faultQuery(kind) {
    const input = $(`fault-option-${kind}`);
    const value = input ? input.value.trim() : '';
    if (!value) return '';
    const name = { 'paper-out': 'tray', offline: 'for', 'network-latency': 'ms' }[kind];
    return `?${new URLSearchParams({ [name]: value })}`;
  }

  function renderFaults() {
    $('panel-faults').replaceChildren(...faultKinds.map((kind) => el('tr', {},
      el('th', { scope: 'row' }, words(kind)),
      el('td', {}, faultOption(kind)),
      el('td', {},
        el('button', { type: 'button', class: 'raise', 'data-fault': kind, 'data-action': 'raise',
          onclick: () => act('POST', `faults/${kind}${faultQuery(kind)}`) }, 'Raise', el('span', { class: 'visually-hidden' }, ` ${words(kind)}`)),
        ' ',
        el('button', { type: 'button', 'data-fault': kind, 'data-action': 'clear',
          onclick: () => act('DELETE', `faults/${kind}`) }, 'Clear', el('span', { class: 'visually-hidden' }, ` ${words(kind)}`))))));
    renderTrayChoices();
  }

  /** A front panel action on the chosen printer; `body`, if any, goes as JSON. */
  async function act(method, what, body) {
    const name = $('panel-printer').value;
    const result = $('panel-result');
    if (!name) return;
    const options = body === undefined
      ? { method }
      : { method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
    try {
      const response = await api(`${printerPath(name)}/${what}`, options);
      let text = (await response.text()).trim();
      if (response.status === 201) text = `Sample page queued as job #${JSON.parse(text).job_id}`;
      result.textContent = response.ok ? text : `Refused (HTTP ${response.status}): ${text}`;
      result.classList.toggle('problem', !response.ok);
    } catch (error) {
      result.textContent = `Not sent: ${error.message}`;
      result.classList.add('problem');
    }
  }

  // ---- jobs -------------------------------------------------------------------------------

  /** The options a job asked for or the printer applied, in Graph's words. */
  function options(configuration) {
    return Object.entries(configuration || {})
      .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join(', ');
  }

  /** A byte count for people. */
  function size(bytes) {
    if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
    if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
    return `${bytes} B`;
  }

  /** How far the document's upload has come, while Graph waits for it. */
  function uploadProgress(graph, documentName) {
    const job = graph.job;
    const pending = !job || job.status.details.includes('uploadPending');
    if (!pending) return null;
    const upload = graph.upload;
    if (!upload) return el('div', { class: 'upload options' }, 'waiting for the document’s upload');
    const label = `Upload of ${documentName}: ${size(upload.bytesReceived)} of ${size(upload.size)}`;
    return el('div', { class: 'upload' },
      el('progress', { max: upload.size, value: upload.bytesReceived, 'aria-label': label,
        'data-received': upload.bytesReceived, 'data-size': upload.size }),
      el('span', { class: 'options' }, `${size(upload.bytesReceived)} of ${size(upload.size)} uploaded`));
  }

  function renderJob(key) {
    const job = jobs.get(key);
    const graph = graphJobs.get(key);
    if (!job && !graph?.job) {
      removeJobRow(key);
      return;
    }
    let row = jobRows.get(key);
    if (!row) {
      row = el('tr', { 'data-job': key });
      jobRows.set(key, row);
      $('job-rows').prepend(row);
    }
    row.classList.toggle('open', key === openJob);
    // A change the row does not show (a view sent again, a Graph field not listed) draws nothing.
    const shown = JSON.stringify([job, graph?.job, graph?.upload]);
    if (jobRowShown.get(key) === shown) return;
    jobRowShown.set(key, shown);
    row.dataset.graphState = graph?.job ? graph.job.status.state : '';
    if (job) renderPrinterJob(row, key, job, graph);
    else renderGraphJob(row, graph);
  }

  /** A job only Graph has yet: created, uploading, or waiting for its printer to fetch it. */
  function renderGraphJob(row, graph) {
    const job = graph.job;
    const doc = (job.documents || [])[0] || {};
    const documentName = doc.displayName || graph.upload?.documentName || '(unnamed)';
    const details = job.status.details.filter((d) => d !== 'none');
    row.dataset.state = job.status.state;
    row.dataset.sheets = 0;
    row.dataset.sheetEntries = 0;
    fill(row,
      el('td', {}, graph.printerName),
      el('th', { scope: 'row' }, `#${job.id}`,
        el('div', { class: 'options', title: 'Graph has the job; its printer has not fetched it yet' }, 'in Graph')),
      el('td', {}, documentName,
        doc.contentType ? el('div', { class: 'options' }, doc.contentType) : null,
        uploadProgress(graph, documentName)),
      el('td', { class: 'options' }, options(job.configuration)),
      el('td', {}, el('span', { class: `badge state-${job.status.state}` }, job.status.state),
        details.length ? el('div', { class: 'options' }, details.join(', ')) : null),
      el('td', {}, 0),
      el('td', {}, el('ol', { class: 'transitions' },
        el('li', {}, time(job.createdDateTime), ' created in Graph'))),
      el('td', {}),
    );
  }

  function renderPrinterJob(row, key, job, graph) {
    row.dataset.state = job.state;
    row.dataset.sheets = job.progress.sheetsCompleted;
    row.dataset.sheetEntries = job.sheetEntries;
    const documentName = job.document?.name || job.name || '(unnamed)';
    const reasons = job.reasons.filter((r) => r !== 'none');
    fill(row,
      el('td', {}, job.printer),
      el('th', { scope: 'row' }, `#${job.jobId}`,
        job.origin === 'localIpp' ? el('div', { class: 'options', title: 'Printed at the printer (over IPP or from its front panel), not through Graph' }, 'local') : null),
      el('td', {}, documentName, job.document ? el('div', { class: 'options' }, job.document.format) : null),
      el('td', { class: 'options' }, options(job.configuration)),
      el('td', {}, el('span', { class: `badge state-${job.state}` }, job.state),
        reasons.length ? el('div', { class: 'options' }, reasons.map(words).join(', ')) : null,
        graph?.job ? el('div', { class: 'options graph-job-state', title: 'The job as Graph shows it' },
          `Graph: ${graph.job.status.state}`) : null),
      el('td', {}, job.progress.sheetsCompleted),
      el('td', {}, el('ol', { class: 'transitions' },
        graph?.job ? el('li', {}, time(graph.job.createdDateTime), ' created in Graph') : null,
        job.transitions.map((t) => el('li', { title: t.detail || null }, time(t.at), ' ', words(t.kind))))),
      el('td', {}, el('button', { type: 'button', 'data-show-output': key, onclick: () => showOutput(key) },
        'Show output', el('span', { class: 'visually-hidden' }, ` of job ${job.jobId} on ${job.printer}`))),
    );
  }

  function removeJobRow(key) {
    const row = jobRows.get(key);
    if (row) row.remove();
    jobRows.delete(key);
    jobRowShown.delete(key);
  }

  // ---- a job's output ---------------------------------------------------------------------

  function showOutput(key) {
    openJob = key;
    manifestShown = null;
    for (const row of $('job-rows').children) row.classList.toggle('open', row.dataset.job === key);
    $('output-sides').replaceChildren();
    renderOutput();
    $('output').scrollIntoView({ block: 'nearest' });
  }

  /** Which sheet a side's file (`0003-sheet0002-back.png`) is on, and which face. */
  function sideOf(file) {
    const match = /sheet(\d+)-(front|back)/.exec(file);
    return match ? { sheet: Number(match[1]), face: match[2] } : { sheet: 0, face: file };
  }

  async function renderOutput() {
    const job = jobs.get(openJob);
    if (!job) return;
    const printed = job.progress.sheetsCompleted;
    $('output-title').textContent = `Output of job ${job.jobId} on ${job.printer}`;
    $('output-summary').textContent = job.sides.length
      ? `${job.state}: ${printed} sheets out, ${job.sides.length} sides rendered (in sheet order).`
      : `${job.state}: nothing rendered yet.`;
    const list = $('output-sides');
    for (const file of job.sides) {
      const id = `${openJob}/${file}`;
      let item = [...list.children].find((node) => node.dataset.side === file);
      const { sheet, face } = sideOf(file);
      if (!item) {
        const img = el('img', { alt: `Sheet ${sheet}, ${face}`, 'data-file': file });
        item = el('li', { 'data-side': file }, el('figure', {}, img, el('figcaption', {}, `sheet ${sheet} ${face}`)));
        list.append(item);
        loadSide(job, file, id, img);
      }
      item.classList.toggle('not-printed', sheet > printed);
    }
    const shown = `${openJob} ${job.state}`;
    if (job.sides.length && manifestShown !== shown) {
      manifestShown = shown;
      try {
        const response = await api(`${printerPath(job.printer)}/jobs/${job.jobId}/manifest.json`);
        if (response.ok) {
          $('output-manifest').textContent = JSON.stringify(await response.json(), null, 2);
          $('output-details').hidden = false;
        }
      } catch (error) {
        manifestShown = null;
      }
    }
  }

  /** Side PNGs need the token, so they are fetched and shown through object URLs. */
  async function loadSide(job, file, id, img) {
    let url = sideImages.get(id);
    try {
      if (!url) {
        const response = await api(`${printerPath(job.printer)}/jobs/${job.jobId}/sides/${encodeURIComponent(file)}?width=${THUMBNAIL_WIDTH}`);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        url = URL.createObjectURL(await response.blob());
        sideImages.set(id, url);
      }
      img.src = url;
    } catch (error) {
      img.alt = `Sheet ${sideOf(file).sheet}: not available (${error.message})`;
    }
  }

  // ---- capability-matrix reports ---------------------------------------------------------

  /** The runs `printlab matrix` left in the lab's data folder, with their summaries. */
  async function loadMatrixReports() {
    try {
      const response = await api('/dashboard/matrix-reports');
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const { reports } = await response.json();
      fill($('matrix-rows'), reports.map((run) => {
        const s = run.summary || {};
        const count = (n) => (n === undefined || n === null ? '-' : n);
        return el('tr', { 'data-run': run.name },
          el('td', {}, run.started ? time(run.started) : run.name,
            run.interrupted ? ' (interrupted)' : null),
          el('td', {}, count(s.cases)),
          el('td', {}, count(s.passed)),
          el('td', {}, count(s.refusedAsExpected)),
          el('td', { class: s.failed ? 'problem' : null }, count(s.failed)),
          el('td', {}, count(s.notRun)),
          el('td', {}, el('button', {
            type: 'button',
            onclick: () => downloadReport(run.name, 'report.html'),
          }, 'Download the HTML report')));
      }));
      $('matrix-table').hidden = reports.length === 0;
      $('no-matrix').hidden = reports.length > 0;
    } catch (error) {
      $('no-matrix').hidden = false;
      $('no-matrix').textContent = `Cannot read the matrix reports: ${error.message}`;
    }
  }

  /** Report files need the token, so they are fetched and saved through an object URL. */
  async function downloadReport(run, file) {
    const response = await api(`/dashboard/matrix-reports/${encodeURIComponent(run)}/${file}`);
    if (!response.ok) return;
    const url = URL.createObjectURL(await response.blob());
    const link = el('a', { href: url, download: `matrix-${run}-${file}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // ---- start ------------------------------------------------------------------------------

  async function start() {
    $('token-form').hidden = true;
    try {
      const response = await api('/control/openapi.json');
      const description = await response.json();
      faultKinds = description.components.parameters.kind.schema.enum;
      renderFaults();
    } catch (error) {
      if (!token) return;
      $('panel-result').textContent = `Cannot read the fault kinds: ${error.message}`;
    }
    loadMatrixReports();
    follow();
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      token = $('token-input').value.trim();
      sessionStorage.setItem(TOKEN_KEY, token);
      start();
    });
    $('panel-printer').addEventListener('change', renderPanelChoices);
    $('panel-sample').addEventListener('click', () => act('POST', 'sample-page'));
    $('panel-pause').addEventListener('click', () => act('POST', 'pause'));
    $('panel-resume').addEventListener('click', () => act('POST', 'resume'));
    $('panel-clear').addEventListener('click', () => act('POST', 'clear'));
    $('matrix-refresh').addEventListener('click', loadMatrixReports);
    token = readToken();
    if (token) start();
    else askForToken();
  });
})();
