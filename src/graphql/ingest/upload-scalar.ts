import { GraphQLError, GraphQLScalarType } from 'graphql';

/**
 * The `Upload` scalar: like graphql-upload-minimal's GraphQLUpload, but it accepts any object
 * with a `promise` of a file upload (graphql-upload-minimal's `Upload`, or the REST shim's spooled
 * files passed through `executeGraphQL`). Its value in resolvers is that promise.
 */
export const UploadScalar = new GraphQLScalarType({
  name: 'Upload',
  description: 'A file in a GraphQL multipart request (graphql-upload).',
  parseValue(value) {
    const p = (value as { promise?: unknown } | null)?.promise;
    if (p && typeof (p as Promise<unknown>).then === 'function') return p;
    throw new GraphQLError('Upload value invalid: send the file as a multipart request part', { extensions: { code: 'BAD_USER_INPUT' } });
  },
  parseLiteral() {
    throw new GraphQLError('Upload literal unsupported: send the file as a multipart request part', { extensions: { code: 'BAD_USER_INPUT' } });
  },
  serialize() {
    throw new GraphQLError('Upload serialization unsupported');
  },
});
