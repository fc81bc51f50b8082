// The namespace plumbing moved to production code (src/lab/netns/, used by `sallyport lab --netns`);
// the tests keep importing it from here.
export * from '../lab/netns/netns.ts';
