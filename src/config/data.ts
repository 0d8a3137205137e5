/** Options of `atelier ingest`, validated once at the edge. */
import { z } from 'zod';

export const ingestSchema = z
  .object({
    out: z.string().min(1),
    imageSize: z.coerce.number().int().min(8).max(512).default(64),
    fit: z.enum(['letterbox', 'crop']).default('letterbox'),
    /** absent: temporal for a log with purchase times, paper otherwise */
    split: z.enum(['paper', 'temporal']).optional(),
    minUserItems: z.coerce.number().int().min(3).default(5),
    kCore: z.coerce.number().int().min(1).optional(),
    minCategoryCount: z.coerce.number().int().min(1).default(50),
    categoryColumn: z.string().optional(),
    seed: z.coerce.number().int().min(0).default(1),
    onBad: z.enum(['fail', 'skip']).default('fail'),
    // fashion-mnist only
    items: z.coerce.number().int().min(10).default(6000),
    simulateShoppers: z.coerce.number().int().min(1).default(1000),
    tasteDims: z.coerce.number().int().min(1).max(64).default(6),
    tasteSharpness: z.coerce.number().positive().default(2),
    extraItems: z.coerce.number().min(0).default(6),
  })
  .strict();

export type IngestConfig = z.infer<typeof ingestSchema>;
