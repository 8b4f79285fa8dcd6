import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reply } from '../reply.js';

test('PING answers +PONG', () => assert.equal(reply('PING'), '+PONG'));
test('ECHO answers its argument', () => assert.equal(reply('ECHO hello world'), 'hello world'));
test('an unknown command is an error', () => assert.match(reply('NOPE'), /^-ERR /));
