// Measures the labeling screen with thousands of boxes in headless Chromium (ui-boxes.sh
// serves the task): the time to open the task until every box is drawn, and the time from
// an input event to the next frame for drag steps, the drop (which commits the move) and a
// label change by key. Input goes through playwright's mouse and keyboard (real input
// events); the latency is taken in the page from the event's timestamp to the frame after
// its handlers ran.
const { chromium } = await import('../tests/browser/node_modules/playwright-core/index.mjs');

const BASE = process.env.BASE_URL;
const BOXES = Number(process.env.BOXES || 5000);
const RUNS = 5;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--no-first-run'],
});
const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
page.setDefaultTimeout(60000);
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const p95 = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]; };
const fmt = (a) => `median ${median(a).toFixed(1)} ms, p95 ${p95(a).toFixed(1)} ms, max ${Math.max(...a).toFixed(1)} ms (n=${a.length})`;

await page.goto(`${BASE}/`);
await page.waitForSelector('form.login');
await page.fill('#username', 'ann');
await page.fill('#password', 'ann pass 123');
await page.click('form.login button[type=submit]');
await page.waitForSelector('table.projects');

// Open: from the hash change to the frame after all boxes are in the page.
const opens = [];
for (let i = 0; i < RUNS; i++) {
  await page.evaluate(() => { location.hash = '#/projects'; });
  await page.waitForSelector('table.projects');
  const ms = await page.evaluate((n) => new Promise((resolve) => {
    const t0 = performance.now();
    location.hash = '#/projects/1/tasks/1';
    const poll = () => {
      if (document.querySelectorAll('.boxes rect.box').length >= n) {
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
      } else requestAnimationFrame(poll);
    };
    poll();
  }), BOXES);
  opens.push(ms);
}
const drawn = await page.$$eval('.boxes rect.box', (r) => r.length);

// Latency probes: every pointermove/pointerup/keydown records event -> next frame.
await page.evaluate(() => {
  window.__lat = { pointermove: [], pointerup: [], keydown: [] };
  for (const type of Object.keys(window.__lat)) {
    window.addEventListener(type, (e) => {
      const ts = e.timeStamp;
      requestAnimationFrame(() => setTimeout(() => window.__lat[type].push(performance.now() - ts), 0));
    }, true);
  }
});
const ids = await page.$$eval('.boxes rect.box', (r) => r.slice(0, 200).map((x) => x.dataset.id));
for (let k = 0; k < 10; k++) {
  // The box on top under its own centre (others may overlap it).
  const pt = await page.evaluate((id) => {
    const r = document.querySelector(`rect.box[data-id="${id}"]`).getBoundingClientRect();
    const x = r.x + r.width / 2;
    const y = r.y + r.height / 2;
    const top = document.elementFromPoint(x, y);
    return top && top.classList.contains('box') ? { x, y } : null;
  }, ids[k * 7]);
  if (!pt) continue;
  await page.mouse.move(pt.x, pt.y);
  await page.mouse.down();
  for (let s = 1; s <= 10; s++) {
    await page.mouse.move(pt.x + s * 3, pt.y + s * 2);
    await page.waitForTimeout(20);
  }
  await page.mouse.up();
  await page.waitForTimeout(60);
  // With the moved box selected, key 2 relabels it.
  await page.keyboard.press(k % 2 ? '1' : '2');
  await page.waitForTimeout(60);
}
await page.waitForTimeout(300);
const lat = await page.evaluate(() => window.__lat);
const moved = await page.evaluate(() => document.querySelectorAll('.boxes rect.box').length);
console.log(`ui-boxes: ${BOXES} boxes, ${drawn} drawn (${moved} after the edits)`);
console.log(`open task:    ${fmt(opens)}`);
console.log(`drag step:    ${fmt(lat.pointermove)}`);
console.log(`drop (commit): ${fmt(lat.pointerup)}`);
console.log(`label key:    ${fmt(lat.keydown)}`);
if (errors.length) console.log(`page errors: ${errors.join(' | ')}`);
await browser.close();
