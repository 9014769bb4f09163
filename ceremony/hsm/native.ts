/**
 * The native PKCS#11 bindings, imported once. pkcs11js and graphene-pk11 are CommonJS and define their
 * constants at run time, which Node's ESM named-export detection cannot see: `import * as` gives
 * undefined constants under plain Node. Importing the default export (module.exports) always works.
 */
import pkcs11Default from 'pkcs11js';
import grapheneDefault from 'graphene-pk11';

export const pkcs11 = pkcs11Default;
export const graphene = grapheneDefault;
