/**
 * What a job of the ceremony worker is: a function from its protocol parameters to its result, given the
 * worker's context. Apart from jobs.ts, whose table includes the backup jobs (backup-jobs.ts), so that
 * those can be typed without importing the table that imports them.
 */
import type { JobContext } from './reporter.js';
import type { JobName, JobSpecs } from './protocol.js';

export type Job<J extends JobName> = (params: JobSpecs[J]['params'], ctx: JobContext) => Promise<JobSpecs[J]['result']>;
export type JobTable = { [J in JobName]: Job<J> };
