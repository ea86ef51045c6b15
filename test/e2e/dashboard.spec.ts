/// <reference lib="dom" />
/**
 * The built dashboard in a real browser (Debian's Chromium): the pages users
 * read, the variation table's marks, every link in the site, sorting and
 * filtering, pages without JavaScript and on a phone, and hostile text from
 * nodes and builds staying text.
 */
import { expect, test, type Page } from '@playwright/test';

const base = (): string => {
  const u = process.env.REPROFARM_E2E_URL;
  if (!u) throw new Error('REPROFARM_E2E_URL is not set: run these tests through playwright.config.ts (its global setup serves the site)');
  return u;
};
const ftbr = (): string => process.env.REPROFARM_E2E_FTBR ?? 'hello';

async function pwned(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
}

test('the dashboard shows each suite and architecture with counts and charts', async ({ page }) => {
  await page.goto(base());
  await expect(page).toHaveTitle(/dashboard/);
  for (const s of ['bookworm / amd64', 'bookworm / arm64', 'trixie / amd64', 'trixie / arm64']) {
    await expect(page.getByRole('heading', { level: 2, name: new RegExp(`^${s}: [\\d.]+% reproducible$`) })).toBeVisible();
  }
  const section = page.locator('section.suite').first();
  await expect(section.locator('svg[role="img"]')).toHaveCount(2);
  await expect(section.locator('svg rect').first()).toBeVisible();
  await expect(section.locator('svg path.share')).toHaveAttribute('d', /^M/);
  await section.getByRole('link', { name: 'FTBR', exact: true }).click();
  await expect(page).toHaveURL(/bookworm\/amd64\/index_FTBR\.html$/);
  await expect(page.getByRole('link', { name: ftbr(), exact: true })).toBeVisible();
});

test('the variation table marks differences and flags a job whose nodes are alike', async ({ page }) => {
  await page.goto(`${base()}variations.html`);
  const good = page.locator('#job-reproducible_build_1');
  const twins = page.locator('#job-reproducible_build_2');
  // node-a and node-b differ in these facts: marked
  for (const fact of ['NUM_CPU', 'KERNEL', 'HOSTNAME', 'DATETIME']) {
    await expect(good.locator('table.facts tr', { has: page.locator(`td:text-is("${fact}")`) })).toHaveClass(/differ/);
  }
  await expect(good.locator('table.facts tr', { has: page.locator('td:text-is("OS")') })).toHaveClass(/same/);
  await expect(good.locator('.flags')).toHaveCount(0);
  // node-c and node-d have the same hostname, kernel and CPU count: flagged, with each reason
  await expect(twins.locator('.flags')).toContainText('both nodes have the same HOSTNAME (twin)');
  await expect(twins.locator('.flags')).toContainText('both nodes have the same KERNEL');
  await expect(twins.locator('table.facts tr.flag')).toHaveCount(3);
  const colours = await good
    .locator('table.facts tbody tr')
    .evaluateAll((rows) => rows.map((r) => getComputedStyle(r.querySelector('td') as Element).backgroundColor));
  expect(new Set(colours).size).toBeGreaterThan(1);
  // the builder's variations, build 1 against build 2
  const tz = good.locator('table.variation:not(.facts) tr', { has: page.locator('td:text-is("TZ")') });
  await expect(tz).toContainText('Etc/GMT+12');
  await expect(tz).toContainText('Etc/GMT-14');
  await expect(tz).toHaveClass(/differ/);
});

test('a package page shows both builds and links logs, the report, nodes and its status', async ({ page }) => {
  await page.goto(`${base()}rb-pkg/bookworm/amd64/${ftbr()}.html`);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(ftbr());
  await expect(page.locator('section.run')).toHaveCount(2);
  for (const n of [1, 2]) {
    const run = page.locator(`#build${n}`);
    await expect(run.getByRole('link', { name: 'build log' })).toBeVisible();
    const resp = await page.request.get(new URL((await run.getByRole('link', { name: 'build log' }).getAttribute('href')) ?? '', page.url()).href);
    expect(resp.status()).toBe(200);
    expect(resp.headers()['content-type']).toBe('text/plain; charset=utf-8');
  }
  await page.getByRole('link', { name: 'diffoscope report (HTML)' }).click();
  await expect(page).toHaveTitle('diffoscope');
  await page.goBack();
  const node = (await page.locator('#build1 h3 a').textContent()) ?? '';
  expect(node).toMatch(/^node-[a-d]$/);
  await page.locator('#build1 h3 a').click();
  await expect(page).toHaveURL(new RegExp(`nodes\\.html#node-${node}$`));
  await expect(page.locator(`#node-${node}`)).toBeVisible();
});

test('every link and resource in the site resolves (crawl from the dashboard)', async ({ request }) => {
  const start = new URL('index.html', base()).href;
  const seen = new Set<string>([start]);
  const queue = [start];
  const dead: string[] = [];
  let pages = 0;
  while (queue.length > 0) {
    const url = queue.shift() as string;
    const r = await request.get(url);
    if (r.status() !== 200) {
      dead.push(`${url} (${r.status()})`);
      continue;
    }
    if (!(r.headers()['content-type'] ?? '').startsWith('text/html')) continue;
    pages++;
    const html = await r.text();
    for (const m of html.matchAll(/(?:href|src)="([^"]+)"/g)) {
      const target = new URL((m[1] ?? '').replaceAll('&amp;', '&'), url);
      target.hash = '';
      if (target.origin !== new URL(base()).origin || seen.has(target.href)) continue;
      seen.add(target.href);
      queue.push(target.href);
    }
  }
  expect(dead).toEqual([]);
  // 56 package pages, 44 status, the FTBR pages per culprit and 4 schedule pages, the dashboard, nodes, variations, culprits, a diffoscope report
  expect(pages).toBeGreaterThan(100);
  expect(seen.has(new URL('reproducible.json', base()).href)).toBe(true);
  expect(seen.has(new URL('culprits.html', base()).href)).toBe(true);
  expect(seen.has(new URL('bookworm/amd64/index_FTBR_culprit_unsearched.html', base()).href)).toBe(true);
  // issue 19's pages: notes lists, issues, maintainers, the lists, breakages, package sets
  for (const p of [
    'bookworm/amd64/index_notes.html',
    'bookworm/amd64/index_no_notes.html',
    'bookworm/amd64/index_last_24h.html',
    'bookworm/amd64/index_all_abc.html',
    'issues/index.html',
    'issues/captures_build_path.html',
    'maintainers/index.html',
    'maintainers/team%40lists.example.org.html',
    'breakages.html',
    'sets/index.html',
    'sets/bookworm/amd64/web.html',
  ]) {
    expect(seen.has(new URL(p, base()).href), p).toBe(true);
  }
});

test('text from notes and maintainer names stays text', async ({ page }) => {
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${base()}rb-pkg/bookworm/amd64/${ftbr()}.html`);
  await expect(page.locator('section.notes pre.comments')).toHaveText('"><img src=x onerror="window.__pwned=2">');
  await expect(page.locator('section.notes a[href$="issues/captures_build_path.html"]')).toHaveCount(1);
  await page.goto(`${base()}issues/captures_build_path.html`);
  await expect(page.locator('pre.comments')).toContainText('<script>window.__pwned = 1</script>');
  await expect(page.locator('tbody tr').first()).toContainText(ftbr());
  await page.goto(`${base()}maintainers/index.html`);
  await expect(page.locator('tbody')).toContainText('<script>window.__pwned = 1</script>');
  await page.goto(`${base()}maintainers/team%40lists.example.org.html`);
  await expect(page.locator('h1')).toContainText('<script>window.__pwned = 1</script>');
  await expect(page.locator('img')).toHaveCount(0);
  expect(await pwned(page)).toBeUndefined();
  expect(dialogs).toEqual([]);
});

test('tables sort by a column and filter as you type', async ({ page }) => {
  await page.goto(`${base()}nodes.html`);
  const names = (): Promise<string[]> =>
    page.locator('tbody tr td:first-child').evaluateAll((tds) => tds.map((td) => (td.firstChild?.textContent ?? '').trim()));
  expect(await names()).toEqual(['node-a', 'node-b', 'node-c', 'node-d']);
  const header = page.getByRole('button', { name: 'node' });
  await header.click();
  await expect(page.locator('th[aria-sort="ascending"]')).toHaveCount(1);
  await header.click();
  await expect(page.locator('th[aria-sort="descending"]')).toHaveCount(1);
  expect(await names()).toEqual(['node-d', 'node-c', 'node-b', 'node-a']);
  await page.goto(`${base()}bookworm/amd64/index_untested.html`);
  const all = await page.locator('tbody tr').count();
  await page.goto(`${base()}trixie/arm64/index_scheduled.html`);
  const filter = page.getByRole('searchbox', { name: 'Filter the table' }).first();
  await filter.fill('zzz-no-such-package');
  await expect(page.locator('tbody tr:visible')).toHaveCount(0);
  await filter.fill('');
  expect(all).toBeGreaterThanOrEqual(0);
  await page.goto(`${base()}rb-pkg/bookworm/amd64/${ftbr()}.html`);
  const history = page.locator('table.sortable').last();
  const dates = (): Promise<string[]> => history.locator('tbody tr td:first-child').allTextContents();
  const before = await dates();
  expect(before.length).toBeGreaterThan(1);
  await history.getByRole('button', { name: 'tested' }).click();
  expect(await dates()).toEqual([...before].sort());
});

test('text from nodes and builds stays text: no script runs, no element is injected', async ({ page }) => {
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${base()}variations.html`);
  await expect(page.locator('#job-reproducible_build_1 table.facts')).toContainText('<script>window.__pwned = 1</script>');
  expect(await pwned(page)).toBeUndefined();
  await page.goto(`${base()}rb-pkg/bookworm/amd64/${ftbr()}.html`);
  await expect(page.locator('.reason')).toContainText('"><img src=x onerror="window.__pwned=2">');
  await expect(page.locator('section.culprit')).toContainText('<script>window.__pwned = 1</script>');
  await expect(page.locator('img')).toHaveCount(0);
  expect(await pwned(page)).toBeUndefined();
  expect(dialogs).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });
  test('every page still shows its tables and charts', async ({ page }) => {
    await page.goto(base());
    await expect(page.locator('svg[role="img"]')).toHaveCount(8);
    await expect(page.locator('table.counts').first()).toBeVisible();
    await page.goto(`${base()}nodes.html`);
    await expect(page.locator('tbody tr')).toHaveCount(4);
    await expect(page.getByRole('searchbox')).toHaveCount(0);
  });
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 375, height: 740 } });
  test('pages fit the screen; wide tables scroll in their own box', async ({ page }) => {
    for (const p of ['', 'variations.html', `rb-pkg/bookworm/amd64/${ftbr()}.html`, 'nodes.html']) {
      await page.goto(`${base()}${p}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, p || 'index.html').toBeLessThanOrEqual(376);
    }
  });
});
