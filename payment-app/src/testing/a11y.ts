/**
 * Accessibility check used by component tests: every control rendered by react-native-web
 * (buttons, text fields, links) must carry a non-empty accessible label.
 */

/** Controls in `root` without an `aria-label` (or `aria-labelledby`); empty when all are labelled. */
export function unlabelledControls(root: { querySelectorAll(selector: string): ArrayLike<ElementLike> }): string[] {
  const controls = Array.from(root.querySelectorAll('button, [role="button"], input, textarea, select, a[href], [role="link"]'));
  return controls
    .filter((el) => !(el.getAttribute('aria-label') ?? '').trim() && !(el.getAttribute('aria-labelledby') ?? '').trim())
    .map((el) => el.outerHTML.slice(0, 120));
}

/** The part of a DOM element the check reads. */
export interface ElementLike {
  getAttribute(name: string): string | null;
  readonly outerHTML: string;
}

/** Number of controls in `root` (to be sure the check looked at something). */
export function countControls(root: { querySelectorAll(selector: string): ArrayLike<unknown> }): number {
  return root.querySelectorAll('button, [role="button"], input, textarea, select, a[href], [role="link"]').length;
}
