import { expect } from 'chai';
import { CatchUp } from '../../../web/src/catch-up';
import { BEGINNING, type ChatMessage, type ClientRequest } from '../../../web/src/protocol';
import { Timeline } from '../../../web/src/timeline';
import { message } from './fixtures';

/** A catch-up over a fresh timeline, and the requests it sent. */
function catchUp(): { timeline: Timeline; catchUp: CatchUp; asked: ClientRequest[] } {
  const timeline = new Timeline();
  const asked: ClientRequest[] = [];
  return {
    timeline,
    asked,
    catchUp: new CatchUp(timeline, (body) => {
      asked.push(body);
      return true;
    }),
  };
}

/** The page arrives: its messages go in the timeline first, as the session does. */
function arrive(timeline: Timeline, up: CatchUp, messages: ChatMessage[], hasMore: boolean) {
  for (const m of messages) timeline.add(m);
  return up.page(messages, hasMore);
}

describe("web: the page's catch-up from history", () => {
  it('reads the latest page on the first connection, and is caught up with it', () => {
    // Prepare
    const { timeline, catchUp: up, asked } = catchUp();

    // Act
    up.begin();
    const outcome = arrive(timeline, up, [message(1), message(2, 1)], true);

    // Assess
    expect(asked).to.deep.equal([{ action: 'history', limit: 50 }]);
    expect(outcome).to.deep.equal({ synced: true, hasOlder: true });
    expect(up.loading).to.equal(false);
  });

  it('after a reconnect reads everything after the cursor, page after page while hasMore', () => {
    // Prepare
    const { timeline, catchUp: up, asked } = catchUp();
    up.begin();
    arrive(timeline, up, [message(1)], false);
    up.end(false);

    // Act
    up.begin();
    const first = arrive(timeline, up, [message(2, 1)], true);
    const second = arrive(timeline, up, [message(3, 2)], false);

    // Assess
    expect(asked.slice(1)).to.deep.equal([
      { action: 'history', limit: 100, after: message(1).id },
      { action: 'history', limit: 100, after: message(2).id },
    ]);
    expect(first).to.deep.equal({ synced: false });
    expect(second).to.deep.equal({ synced: true });
  });

  it('starts the catch-up of an empty room at its beginning', () => {
    // Prepare
    const { timeline, catchUp: up, asked } = catchUp();
    up.begin();
    arrive(timeline, up, [], false);
    up.end(true);

    // Act
    up.begin();

    // Assess
    expect(asked[1]).to.deep.equal({ action: 'history', limit: 100, after: BEGINNING });
  });

  it('says older history is there or not, and an older page does not end a catch-up', () => {
    // Prepare
    const { timeline, catchUp: up, asked } = catchUp();
    up.begin();
    arrive(timeline, up, [message(5, 4)], true);

    // Act
    up.older();
    const outcome = arrive(timeline, up, [message(4)], false);

    // Assess
    expect(asked[1]).to.deep.equal({ action: 'history', limit: 50, before: message(5).id });
    expect(outcome).to.deep.equal({ synced: false, hasOlder: false });
  });

  it('a refused catch-up lets the visit go on as caught up; a refused older page does not', () => {
    // Prepare
    const { timeline, catchUp: up } = catchUp();
    up.begin();

    // Act
    const catchUpRefused = up.refused();
    arrive(timeline, up, [], false);
    up.begin();
    arrive(timeline, up, [message(1)], false);
    up.older();
    const olderRefused = up.refused();

    // Assess
    expect(catchUpRefused).to.equal(true);
    expect(olderRefused).to.equal(false);
    expect(up.loading).to.equal(false);
  });

  it('reads a gap a live message shows at once, and once only if history does not have it', () => {
    // Prepare
    const { timeline, catchUp: up, asked } = catchUp();
    up.begin();
    arrive(timeline, up, [message(1)], false);
    timeline.add(message(3, 2));

    // Act
    up.seekGaps(false);
    arrive(timeline, up, [], false);
    up.seekGaps(true);

    // Assess
    expect(asked.slice(1)).to.deep.equal([{ action: 'history', limit: 100, after: message(1).id }]);
  });
});
