/** What a training loop reports; the CLI turns these into a bar or JSON lines. Loss code never logs. */
export interface StepEvent {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  totalSteps: number;
  globalStep: number;
  loss: number;
  /** examples (images, triplets) per second over the epoch so far */
  rate: number;
  rateUnit: string;
}

export interface EpochEvent {
  epoch: number;
  epochs: number;
  loss: number;
  metrics: Record<string, number>;
  best: boolean;
  seconds: number;
}

export interface TrainCallbacks {
  onStep?: (e: StepEvent) => void;
  onEpoch?: (e: EpochEvent) => void;
  onMessage?: (msg: string) => void;
}
