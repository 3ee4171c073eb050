import { DeepMakerError } from '../util/errors';
import { nearest } from '../spec/suggest';
import { readDataFile } from './files';

/** A parsed CSV file: text cells, with the file line on which each row starts (for errors). */
export interface CsvTable {
  file: string;
  header?: string[];
  rows: string[][];
  /** 1-based file line of each row. */
  lines: number[];
}

/**
 * RFC 4180 CSV: fields separated by `delimiter`, optionally quoted with "", quotes doubled inside
 * quotes, rows ended by LF or CRLF. Blank lines are skipped. Every row must have as many fields as the first.
 */
export function parseCsv(text: string, file: string, delimiter = ',', header = true): CsvTable {
  const rows: string[][] = [];
  const lines: number[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let fieldStarted = false;
  const endRow = () => {
    row.push(field);
    if (!(row.length === 1 && row[0].trim() === '' && !fieldStarted)) {
      rows.push(row);
      lines.push(rowLine);
    }
    row = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field.trim() === '') {
      quoted = true;
      fieldStarted = true;
      field = '';
    } else if (ch === delimiter) {
      row.push(field);
      field = '';
      fieldStarted = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      field += ch;
      if (ch.trim() !== '') fieldStarted = true;
    }
  }
  if (quoted) throw new DeepMakerError('unterminated quoted field', { file, line: rowLine }, 'close the quote ("), or escape a quote inside a field as ""');
  if (field !== '' || row.length > 0) endRow();
  if (text.charCodeAt(0) === 0xfeff && rows.length) rows[0][0] = rows[0][0].slice(1); // UTF-8 byte order mark
  const table: CsvTable = { file, rows, lines };
  if (header) {
    if (!rows.length) throw new DeepMakerError('the CSV file is empty (no header row)', { file }, 'add a header row, or set data.csv.header: false');
    table.header = rows.shift()!.map((h) => h.trim());
    lines.shift();
  }
  const width = table.header?.length ?? rows[0]?.length ?? 0;
  for (let r = 0; r < rows.length; r++) {
    if (rows[r].length !== width) {
      throw new DeepMakerError(`row has ${rows[r].length} fields, expected ${width}${table.header ? ' (as the header)' : ' (as the first row)'}`, { file, line: lines[r] }, `check the delimiter (data.csv.delimiter is '${delimiter}') and quoting`);
    }
  }
  return table;
}

export function readCsv(file: string, delimiter = ',', header = true): CsvTable {
  return parseCsv(readDataFile(file).toString('utf8'), file, delimiter, header);
}

/** The 0-based index of the label column given by name or (negative-from-the-end) index. */
export function labelColumn(table: CsvTable, label: string | number): number {
  const width = table.header?.length ?? table.rows[0]?.length ?? 0;
  if (typeof label === 'number') {
    const i = label < 0 ? width + label : label;
    if (i < 0 || i >= width) throw new DeepMakerError(`label column ${label} is out of range: the file has ${width} columns`, { file: table.file }, 'set data.csv.label to a column index (0-based; -1 is the last) or a header name');
    return i;
  }
  if (!table.header) throw new DeepMakerError(`label column '${label}' is a name, but data.csv.header is false`, { file: table.file }, 'give the label column as a 0-based index, or set data.csv.header: true');
  const i = table.header.indexOf(label);
  if (i < 0) {
    const s = nearest(label, table.header);
    throw new DeepMakerError(`no column '${label}' in the header${s ? `; did you mean '${s}'?` : ''}`, { file: table.file, line: 1 }, `columns: ${table.header.join(', ')}`);
  }
  return i;
}

export function columnName(table: CsvTable, c: number): string {
  return table.header ? `column '${table.header[c]}', #${c + 1}` : `column ${c + 1}`;
}

/** The features of every row (all columns but the label) as float32, row-major [rows, columns-1]. Every cell must be a finite number. */
export function featureMatrix(table: CsvTable, labelCol: number): Float32Array {
  const width = table.header?.length ?? table.rows[0]?.length ?? 0;
  const features = width - 1;
  const out = new Float32Array(table.rows.length * features);
  for (let r = 0; r < table.rows.length; r++) {
    const row = table.rows[r];
    let k = r * features;
    for (let c = 0; c < width; c++) {
      if (c === labelCol) continue;
      out[k++] = parseNumber(row[c], table, r, c);
    }
  }
  return out;
}

function parseNumber(cell: string, table: CsvTable, r: number, c: number): number {
  const text = cell.trim();
  const loc = { file: table.file, line: table.lines[r], where: columnName(table, c) };
  if (text === '') throw new DeepMakerError('empty value', loc, 'fill or drop missing values before training (the data stage does not impute them)');
  const v = Number(text);
  if (Number.isNaN(v)) {
    if (/^[+-]?nan$/i.test(text)) throw new DeepMakerError('NaN value', loc, 'fill or drop missing values before training (the data stage does not impute them)');
    throw new DeepMakerError(`'${text}' is not a number`, loc, 'every feature column must be numeric; make categorical columns numeric (e.g. one-hot) first');
  }
  if (!Number.isFinite(v)) throw new DeepMakerError(`infinite value '${text}'`, loc, 'replace infinities before training');
  return v;
}

/** How label cells map to class indices: integers as they are, or names (sorted) when any label is not an integer. */
export interface LabelCoding {
  names?: string[];
}

export function labelCoding(tables: CsvTable[], labelCols: number[]): LabelCoding {
  let allIntegers = true;
  const names = new Set<string>();
  tables.forEach((t, i) => {
    for (const row of t.rows) {
      const s = row[labelCols[i]].trim();
      names.add(s);
      if (!/^\+?\d+(\.0*)?$/.test(s)) allIntegers = false;
    }
  });
  return allIntegers ? {} : { names: [...names].sort() };
}

export function labelVector(table: CsvTable, labelCol: number, coding: LabelCoding, role: 'train' | 'test'): Int32Array {
  const out = new Int32Array(table.rows.length);
  for (let r = 0; r < table.rows.length; r++) {
    const s = table.rows[r][labelCol].trim();
    const loc = { file: table.file, line: table.lines[r], where: columnName(table, labelCol) };
    if (coding.names) {
      const i = coding.names.indexOf(s);
      if (i < 0) {
        if (s === '') throw new DeepMakerError('empty label', loc, 'every row needs a label');
        throw new DeepMakerError(`label '${s}' does not occur in the training files`, loc, `the ${role} set may only use classes the training set has: ${coding.names.join(', ')}`);
      }
      out[r] = i;
    } else {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new DeepMakerError(`label '${s}' is not a class index (an integer >= 0)`, loc, 'labels are class indices or class names');
      out[r] = v;
    }
  }
  return out;
}
