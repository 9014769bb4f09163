/** The quorum: secret, PINs, shares and their integrity, the session that recombines them (DESIGN §2–4). */
export { newQuorumSecret, newSetId, formatSetId, quorumCommitment, deriveQuorumPins, wipeQuorumPins, SECRET_LENGTH, LEGACY_PIN_FORMATS, pinStrengthBits, describePinFormat, pinFormatForToken, MIN_PIN_STRENGTH_BITS, deriveBackupKeys, wipeBackupKeys, type BackupKeys, type QuorumPins, type PinFormat, type PinFormats } from './secret.js';
export { parseShare, formatShare, formatShareWords, shareChecksum, shareFileName, CUSTODIAN_NAME, MAX_CUSTODIANS, MAX_SHARE_TEXT_BYTES, type Share } from './share.js';
export { splitQuorumSecret, combineShareData, wipeShares, type SplitOptions, type QuorumSplit } from './split.js';
export { descriptorToJson, descriptorFromJson, signingSoHolder, pinFormatsOf, type QuorumSetDescriptor } from './descriptor.js';
export { QuorumSession, type ExpectedSet, type ShareReceipt, type PresentedShare, type RecoveredQuorum } from './session.js';
export { quorumSessionId, confirmsQuorumSession, sessionConfirmationText, sessionConfirmationPrompt, SESSION_CONFIRM_GROUPS, type QuorumSessionParameters, type QuorumSessionId } from './session-id.js';
export { encryptShareForCustodian, decryptShare, isEncryptedShare, MAX_SHARE_FILE_BYTES } from './encrypt.js';
export { bytesToWords, wordsToBytes } from './word-encoding.js';
export { recombineEveryShare, type WrittenShare } from './self-check.js';
export { checkShares, type ShareCheckReport, type ShareCheckEntry, type ShareInput, type CheckOptions } from './check.js';
