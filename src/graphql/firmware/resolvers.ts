import type { FileUpload } from '../../files/file-upload';
import { deleteFirmware, listFirmware, uploadFirmware } from '../../files/firmware';
import type { GraphQLContext } from '../context';

/** Firmware packages of products (OTA): thin mappings onto files/firmware.ts. */
export const firmwareResolvers = {
  Query: {
    firmwarePackages: (_: unknown, a: { productKey: string }, ctx: GraphQLContext) => listFirmware(ctx.deps, ctx.access, a.productKey),
  },
  Mutation: {
    uploadFirmware: (_: unknown, a: { productKey: string; version: string; md5: string; file: Promise<FileUpload> }, ctx: GraphQLContext) => uploadFirmware(ctx.deps, ctx.access, a),
    deleteFirmware: (_: unknown, a: { productKey: string; version: string }, ctx: GraphQLContext) => deleteFirmware(ctx.deps, ctx.access, a.productKey, a.version),
  },
};
