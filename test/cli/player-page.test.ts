import { H265_BROWSER_WARNING, readHlsJs, renderPlayerPage } from '../../lib/cli/hls-viewer';

const page = {
  camera: 'front-door',
  hlsUrl:
    'https://b-1.kinesisvideo.eu-west-1.amazonaws.com/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=a</script><b>',
  expiresAt: '2026-11-24T12:00:00.000Z',
  h265: false,
};

describe('renderPlayerPage', () => {
  test('inlines hls.js and embeds the URL so that it cannot end the script element', () => {
    const html = renderPlayerPage(page);

    expect(html).toContain(readHlsJs().slice(0, 200));
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).toContain('SessionToken=a\\u003c/script>\\u003cb>');
    expect(html).toContain('<time id="expires">2026-11-24T12:00:00.000Z</time>');
    expect(html).toContain('<meta name="referrer" content="no-referrer">');
    expect(html).not.toContain(H265_BROWSER_WARNING);
  });

  test('says on the page that most browsers cannot play H.265', () => {
    const html = renderPlayerPage({ ...page, h265: true });

    expect(html).toContain(`<p id="h265" class="warning">${H265_BROWSER_WARNING}</p>`);
  });

  test('a "</script" inside the inlined library is escaped', () => {
    const html = renderPlayerPage(page, 'var s = "</script><script>alert(1)</script>";');

    expect(html).toContain('var s = "<\\/script><script>alert(1)<\\/script>";');
  });
});
