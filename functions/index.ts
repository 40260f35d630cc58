/**
 * The Cloud Run functions' entry file: each function of the table, registered with the functions
 * framework. Everything else is in lib/cloud/.
 * @module
 */
import * as ff from '@google-cloud/functions-framework';
import { FUNCTIONS } from '../lib/cloud/functions.ts';
import { serve } from '../lib/cloud/serve.ts';

for (const fn of FUNCTIONS) ff.http(fn.name, serve(fn, process.env));
