import { parseDocument } from 'yaml'
import type { ZodError } from 'zod'
import { ConfigError, type ConfigIssue } from '../core/errors.js'
import { schedulerConfigSchema, type SchedulerConfig } from './schema.js'

/**
 * Parses JSON or YAML text (JSON is read as YAML 1.2, of which it is a subset, so both report
 * syntax errors by line and column) and validates it. Throws one `ConfigError` listing every
 * problem, each with the path of the field or the line and column of the syntax error.
 */
export function loadConfig(text: string): SchedulerConfig {
  if (typeof text !== 'string') {
    throw new ConfigError('Expected the config as a string of JSON or YAML', [{ path: '', message: 'not a string' }])
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const issues: ConfigIssue[] = doc.errors.map((error) => {
      const at = error.linePos?.[0]
      return {
        path: '',
        message: error.message.split('\n')[0]!,
        ...(at === undefined ? {} : { line: at.line, column: at.col }),
      }
    })
    throw new ConfigError(`Config syntax error: ${issues.map(describeIssue).join('; ')}`, issues)
  }
  return validateConfig(doc.toJS() as unknown)
}

/** Validates an already-parsed config object. */
export function validateConfig(value: unknown): SchedulerConfig {
  const result = schedulerConfigSchema.safeParse(value)
  if (result.success) return result.data
  const issues = zodIssues(result.error)
  throw new ConfigError(`Invalid config: ${issues.map(describeIssue).join('; ')}`, issues)
}

function zodIssues(error: ZodError): ConfigIssue[] {
  return error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
  }))
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }
  return out
}

export function describeIssue(issue: ConfigIssue): string {
  if (issue.line !== undefined) return `line ${issue.line}, column ${issue.column ?? 0}: ${issue.message}`
  return issue.path === '' ? issue.message : `\`${issue.path}\`: ${issue.message}`
}
