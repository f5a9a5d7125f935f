import { expect } from 'chai';
import { Timeline } from '../../../web/src/timeline';
import { message } from './fixtures';

describe("web: the page's timeline of messages", () => {
  it('finds a missed message between two it holds (the later one names it as prevId)', () => {
    // Prepare
    const timeline = new Timeline();
    timeline.add(message(1));
    timeline.add(message(3, 2));

    // Assess
    expect(timeline.firstGap(new Set())?.id).to.equal(message(3).id);
    expect(timeline.firstGap(new Set([message(2).id]))).to.equal(undefined);
  });

  it('takes a missing prevId below the oldest it holds for older history, not a gap', () => {
    // Prepare
    const timeline = new Timeline();
    timeline.add(message(2, 1));

    // Assess
    expect(timeline.firstGap(new Set())).to.equal(undefined);
  });

  it('holding the room from its beginning (history had nothing more), a missed first message is a gap', () => {
    // Prepare: the page joined an empty room, then missed the room's first message live
    const timeline = new Timeline();
    timeline.holdsFromBeginning();
    timeline.add(message(2, 1));

    // Assess
    expect(timeline.heldFromBeginning).to.equal(true);
    expect(timeline.firstGap(new Set())?.prevId).to.equal(message(1).id);
  });

  it('keeps a removed message without its text, and a copy of it that comes later too', () => {
    // Prepare
    const timeline = new Timeline();
    timeline.add(message(1));

    // Act
    const held = timeline.remove(message(1).id);
    const notHeld = timeline.remove(message(2).id);

    // Assess
    expect([held, notHeld]).to.deep.equal([true, false]);
    expect(timeline.asKept(message(2, 1))).to.deep.include({ id: message(2).id, text: '', deleted: true });
    expect(timeline.asKept(message(3, 2))).to.deep.equal(message(3, 2));
  });
});
