/** Flatcar CrAU update payloads: parse, sign (byte-identical to delta_generator), verify (as update_engine). */
export { readPayloadMetadata, parsePayloadBytes, PAYLOAD_LIMITS, HEADER_SIZE, type PayloadMetadata } from './format.js';
export { preparePayload, checkSignablePayload, addSignaturePlaceholder, type PayloadDraft, type PrepareOptions, type CommittedPayload, type Progress } from './draft.js';
export { signPayload, type SignPayloadOptions, type SignPayloadResult } from './sign.js';
export { PendingDraft, type PendingDraftOptions } from './pending.js';
export { verifyPayload, inspectPayload, payloadRefusal, type PayloadVerification, type PayloadSignatureReport, type VerifyPayloadOptions } from './verify.js';
export { encodeSignatures, decodeSignatures, signatureVersions, signaturesBlobSize, CURRENT_SIGNATURE_VERSION, type PayloadSignature } from './signatures.js';
export { signatureMatchesDigest } from './rsa.js';
