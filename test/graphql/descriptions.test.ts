import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, type GraphQLNamedType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/graphql/schema';

/** Every type, field, argument, input field and enum value of the schema that has no description. */
function undescribed(types: readonly GraphQLNamedType[]): string[] {
  const missing: string[] = [];
  const blank = (d: string | null | undefined) => !d?.trim();
  for (const t of types) {
    if (t.name.startsWith('__')) continue;
    if (blank(t.description)) missing.push(t.name);
    if (isObjectType(t) || isInterfaceType(t)) {
      for (const f of Object.values(t.getFields())) {
        if (blank(f.description)) missing.push(`${t.name}.${f.name}`);
        for (const a of f.args) if (blank(a.description)) missing.push(`${t.name}.${f.name}(${a.name})`);
      }
    } else if (isInputObjectType(t)) {
      for (const f of Object.values(t.getFields())) if (blank(f.description)) missing.push(`${t.name}.${f.name}`);
    } else if (isEnumType(t)) {
      for (const v of t.getValues()) if (blank(v.description)) missing.push(`${t.name}.${v.name}`);
    }
  }
  return missing;
}

describe('the public schema', () => {
  it('describes every type, field, argument, input field and enum value', () => {
    expect(undescribed(Object.values(buildSchema().getTypeMap()))).toEqual([]);
  });
});
