// While a bar shows at the bottom (top) of the window, no focused element of the page may hide
// entirely behind it (WCAG 2.2, 2.4.11): focus scrolling keeps the bar's height clear, and the page
// gets as much room at its end (start), so that its last (first) elements can scroll clear too.
// Nothing is set or cleared while nothing was reserved (a page where the bar never shows).

/**
 * Keeps the page clear of the bar, as long as it is in the page, whenever its height changes.
 * @param {HTMLElement} bar
 * @param {string} position bottom, top, or center (which covers no edge: nothing to reserve).
 */
export function keepRoom(bar, position) {
  const edge = { bottom: 'Bottom', top: 'Top' }[position];
  // The height reserved on the page, in px: 0 while nothing is.
  let reserved = 0;
  if (edge)
    new ResizeObserver(() => {
      const height = bar.offsetHeight;
      if (!height && !reserved) return;
      const { style } = document.documentElement;
      style['scrollPadding' + edge] = style['padding' + edge] = height ? height + 'px' : '';
      reserved = height;
    }).observe(bar);
}
