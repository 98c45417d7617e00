import * as prettier from 'prettier';
import { stringify } from 'yaml';

/** YAML as prettier writes it (the repository's format check covers generated files too). */
export async function toYaml(value: unknown, header: string[], file: string): Promise<string> {
  const text = `${header.join('\n')}\n${stringify(value, { lineWidth: 0, blockQuote: 'literal' })}`;
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(text, { ...options, parser: 'yaml', filepath: file });
}
