import { dvbprPreset } from './src/config/dvbpr.js';
import { TripletSampler } from './src/data/sampler.js';
import { Dvbpr } from './src/models/dvbpr.js';
import { bprStep } from './src/train/bpr.js';
import { dvbprLoss } from './src/train/losses.js';
import { Adam, Generator, keep, randint, tidy } from './src/torch/index.js';
const rss = (l: string) => console.log(l, (process.memoryUsage().rss / 1048576).toFixed(0), 'MB; max', (process.resourceUsage().maxRSS / 1024).toFixed(0), 'heap', (process.memoryUsage().heapUsed/1048576).toFixed(0));
rss('start');
const gen = new Generator(0);
const catalogue = tidy(() => keep(randint(0, 256, [1000, 64, 64, 3], gen).to('uint8')));
rss('catalogue');
const model = new Dvbpr(dvbprPreset('default', 64).encoder, 1000, 1);
const train = { user: Int32Array.from({ length: 20000 }, (_, x) => x % 1000), item: Int32Array.from({ length: 20000 }, (_, x) => (x * 7919) % 1000) };
const sampler = new TripletSampler(train, 1000, 1000, 1);
const opt = new Adam(model.trainableParameters(), { lr: 1e-4 });
const bm = { module: model, loss: dvbprLoss(model, catalogue, 1e-3, 1.0), generators: [] };
rss('model');
for (let i = 0; i < 6; i++) { bprStep(bm, opt, sampler.sample(64)); rss(`step ${i}`); }
