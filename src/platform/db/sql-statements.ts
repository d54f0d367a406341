/** One statement of a migration script, with where it starts in the file (for error reports). */
export interface SqlStatement {
  text: string;
  /** 0-based offset of the statement's first character in the script. */
  offset: number;
}

/**
 * Splits a PostgreSQL script into statements at top-level semicolons, honouring
 * 'strings' (with '' escapes), E'strings' (with backslash escapes), "identifiers",
 * $tag$ dollar quotes $tag$, -- line comments and nested block comments.
 * Statements that are only comments or whitespace are dropped.
 */
export function splitSqlStatements(script: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  const push = (end: number): void => {
    const raw = script.slice(start, end);
    if (stripSqlComments(raw).trim() !== '') {
      const lead = raw.length - raw.trimStart().length;
      statements.push({ text: raw.trim(), offset: start + lead });
    }
  };
  while (i < n) {
    const ch = script[i];
    const next = script[i + 1];
    if (ch === '-' && next === '-') {
      const eol = script.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (ch === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (script[i] === '/' && script[i + 1] === '*') {
          depth += 1;
          i += 2;
        } else if (script[i] === '*' && script[i + 1] === '/') {
          depth -= 1;
          i += 2;
        } else i += 1;
      }
    } else if (ch === "'") {
      const escapes = i > 0 && /[eE]/.test(script[i - 1] ?? '') && !/\w/.test(script[i - 2] ?? '');
      i += 1;
      while (i < n) {
        if (escapes && script[i] === '\\') i += 2;
        else if (script[i] === "'" && script[i + 1] === "'") i += 2;
        else if (script[i] === "'") break;
        else i += 1;
      }
      i += 1;
    } else if (ch === '"') {
      i += 1;
      while (i < n) {
        if (script[i] === '"' && script[i + 1] === '"') i += 2;
        else if (script[i] === '"') break;
        else i += 1;
      }
      i += 1;
    } else if (ch === '$' && !/\w/.test(script[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i));
      if (tag) {
        const close = script.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? n : close + tag[0].length;
      } else i += 1;
    } else if (ch === ';') {
      push(i);
      i += 1;
      start = i;
    } else i += 1;
  }
  push(n);
  return statements;
}

/** Removes -- and block comments outside of quotes (used to read a statement's words). */
export function stripSqlComments(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ');
}

/**
 * Why a statement destroys data, or undefined when it does not (REQ 19.4): DROP of tables,
 * columns, schemas, types, views, sequences, functions…; TRUNCATE; DELETE; column type changes.
 * Schema-only removals that lose no rows (DROP INDEX, DROP CONSTRAINT, DROP DEFAULT,
 * DROP NOT NULL) are not destructive.
 */
export function destructiveReason(statement: string): string | undefined {
  // One left-to-right pass, so '--' inside a literal cannot hide what follows it.
  const sql = statement
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'/g, (token) => (token.startsWith("'") ? "''" : ' '))
    .replace(/\s+/g, ' ')
    .trim()
    .toUpperCase();
  if (/^DROP (INDEX|TRIGGER|POLICY|RULE)\b/.test(sql)) return undefined;
  if (/^DROP\b/.test(sql)) return 'drops an object';
  if (/^TRUNCATE\b/.test(sql)) return 'truncates a table';
  if (/^(WITH\b.*\b)?DELETE FROM\b/.test(sql) || /^DELETE\b/.test(sql)) return 'deletes rows';
  if (/^ALTER TABLE\b/.test(sql)) {
    if (/\bDROP (COLUMN\b|(?!CONSTRAINT\b|DEFAULT\b|NOT NULL\b|IDENTITY\b|EXPRESSION\b)"?\w)/.test(sql)) {
      return 'drops a column';
    }
    if (/\bALTER (COLUMN )?("[^"]+"|\w+) (SET DATA )?TYPE\b/.test(sql)) return 'changes a column type';
  }
  if (/^ALTER TYPE\b.*\bDROP\b/.test(sql)) return 'drops an enum value or attribute';
  return undefined;
}
