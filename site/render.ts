/**
 * The only module that imports Eta. Templates live in site-templates/; every
 * interpolation is escaped (`<%= %>`, by format.ts's escapeHtml: entities, and
 * controls and bidi controls shown as `\u202e`): only the layout's body and the
 * chart partials, which are themselves rendered templates, go in raw.
 */
import { Eta } from 'eta';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../core/paths.js';
import { escapeHtml } from './format.js';
import type { PageBase } from './model.js';

export type TemplateName =
  | 'index'
  | 'status'
  | 'scheduled'
  | 'package'
  | 'nodes'
  | 'variations'
  | 'culprits'
  | 'lists'
  | 'breakages'
  | 'notes-list'
  | 'issues'
  | 'issue'
  | 'maintainers'
  | 'maintainer'
  | 'sets'
  | 'set';

export function templatesDir(): string {
  return join(projectRoot(), 'site-templates');
}

export class Renderer {
  private readonly eta: Eta;

  constructor(readonly dir: string = templatesDir()) {
    this.eta = new Eta({ views: dir, cache: true, autoEscape: true, autoTrim: false, useWith: false, escapeFunction: escapeHtml });
    // Eta resolves (and checks) a template's path on every render, layouts included: tens of
    // thousands of times for the same few names. Each answer is remembered, errors are not.
    const resolve = this.eta.resolvePath.bind(this.eta);
    const resolved = new Map<string, string>();
    this.eta.resolvePath = (template: string, options?: { filepath?: string }): string => {
      const key = `${options?.filepath ?? ''}\0${template}`;
      let file = resolved.get(key);
      if (file === undefined) {
        file = resolve(template, options);
        resolved.set(key, file);
      }
      return file;
    };
  }

  /**
   * A whole page: the page's template, then the layout around it. The layout
   * is applied here rather than by Eta's `layout()`, which hands it the page's
   * data spread into a new object three times over: V8 builds an object
   * spread from one with many properties on a slow path, once per page, and
   * the layout needs only the four fields every page has.
   */
  render(name: TemplateName, data: PageBase): string {
    const body = this.eta.render(`./${name}`, data);
    return this.eta.render('./layout', { title: data.title, root: data.root, nav: data.nav, asOf: data.asOf, body });
  }

  /** One of the dashboard's chart partials on its own (the site builder caches them per suite/arch). */
  chart(name: 'chart-share' | 'chart-bars', data: object): string {
    return this.eta.render(`./${name}`, data);
  }
}

/** A hash of every template and static file: when it changes, every page is rendered again. */
export function templatesHash(dir: string = templatesDir()): string {
  const h = createHash('sha256');
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else if (e.isFile())
        h.update(`${rel}${e.name}\0`)
          .update(readFileSync(join(d, e.name)))
          .update('\0');
    }
  };
  walk(dir, '');
  return h.digest('hex');
}
