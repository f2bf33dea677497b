// The opt-out icon that California's Attorney General published for "Your Privacy Choices" links
// (CCPA regulations, § 7015): a toggle, a tick on white and a cross on blue, 30 by 14. Decorative:
// the button's text says what it does.
const NS = 'http://www.w3.org/2000/svg';
const BLUE = '#06f';

// An SVG element with its attributes and children (../elements.js makes HTML ones).
function svg(tag, attributes, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const name in attributes) element.setAttribute(name, attributes[name]);
  element.append(...children);
  return element;
}

const line = { fill: 'none', 'stroke-width': '1.4', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' };

export const privacyChoicesIcon = () =>
  svg(
    'svg',
    { viewBox: '0 0 30 14', width: '30', height: '14', 'aria-hidden': 'true' },
    svg('path', { d: 'M7.4 0h15.2a7 7 0 0 1 0 14H7.4a7 7 0 0 1 0-14z', fill: BLUE }),
    svg('path', { d: 'M7.4 1.2h9.9l-3.1 11.6H7.4a5.8 5.8 0 0 1 0-11.6z', fill: '#fff' }),
    svg('path', { ...line, d: 'M5.4 7.2l2.3 2.2 4.3-4.8', stroke: BLUE }),
    svg('path', { ...line, d: 'M19.5 4.7l4.6 4.6m0-4.6l-4.6 4.6', stroke: '#fff' }),
  );
