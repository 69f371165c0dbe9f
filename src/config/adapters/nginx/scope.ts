/**
 * The http -> server -> location tree with nginx's inheritance rules (the merge_loc_conf
 * functions): `effective(scope, name)` answers "which directives apply here" for one
 * directive name, according to its `inherit` kind in the registry.
 */
import type { Directive } from './parser.js';
import { DIRECTIVES } from './registry.js';
import type { LocationSpec } from '../../location-syntax.js';

export type ScopeKind = 'http' | 'server' | 'location';

export interface Scope {
  kind: ScopeKind;
  parent: Scope | undefined;
  /** The block directive itself (undefined for an implicit http around bare server blocks). */
  block: Directive | undefined;
  /** Directives of this block in order, nested blocks included. */
  directives: Directive[];
  /** For locations: how it matches. */
  location?: LocationNode;
}

export type LocationMatch = LocationSpec | { kind: 'named'; name: string };

export interface LocationNode {
  match: LocationMatch;
  /** As written after `location`, e.g. "^~ /static/", for names and messages. */
  text: string;
  scope: Scope;
  children: LocationNode[];
  parent: LocationNode | undefined;
  depth: number;
}

export function makeScope(kind: ScopeKind, parent: Scope | undefined, block: Directive | undefined, directives: Directive[]): Scope {
  return { kind, parent, block, directives };
}

/** Each scope's directives by name, built on first use: a server with thousands of locations is asked once per route per directive name, and a scan each time would make that quadratic. */
const byName = new WeakMap<Scope, Map<string, Directive[]>>();

/** Directives named `name` written directly in this scope (do not modify the list). */
export function own(scope: Scope, name: string): readonly Directive[] {
  let index = byName.get(scope);
  if (index === undefined) {
    index = new Map();
    for (const d of scope.directives) {
      const list = index.get(d.name);
      if (list) list.push(d);
      else index.set(d.name, [d]);
    }
    byName.set(scope, index);
  }
  return index.get(name) ?? NONE;
}

const NONE: readonly Directive[] = [];

/** The directives named `name` that apply in `scope`, by nginx's inheritance of that directive. */
export function effective(scope: Scope, name: string): readonly Directive[] {
  const inherit = DIRECTIVES[name]?.inherit ?? 'none';
  const here = own(scope, name);
  if (inherit === 'none' || here.length > 0 || !scope.parent) {
    if (inherit === 'scalar' && here.length > 1) return [here[here.length - 1]!];
    return here;
  }
  return effective(scope.parent, name);
}

/** The single effective directive (scalar), or undefined. */
export function effectiveOne(scope: Scope, name: string): Directive | undefined {
  const list = effective(scope, name);
  return list[list.length - 1];
}

