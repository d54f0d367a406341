export { SystemResolver } from './system.resolver.js';
